"""A database ready for the real server: migrated, with the role users, master data and tokens.

The crash tests run on a SQLite file always, and on PostgreSQL too when TEST_DATABASE_URL is
set (a fresh database named after it, dropped at the end).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask

from qa_app.extensions import db
from qa_app.services import clock, storage, tokens
from tests.builders import setup_master_data, user
from tests.conftest import PASSWORD, ROLE_USERS, build_app, make_user, migrate_to_head
from tests.databases import POSTGRES, DatabaseFactory
from tests.system.server import gunicorn_path

BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES else [])]


@dataclass
class ServedDatabase:
    """The database a server process will use, and an app on it in this process for set-up and checks."""

    backend: str
    url: str
    app: Flask
    lots: dict[str, str]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # username → Authorization


@pytest.fixture
def gunicorn() -> str:
    path = gunicorn_path()
    if path is None:
        pytest.skip("gunicorn is not installed: these tests start the real server with it")
    return path


@pytest.fixture(params=BACKENDS)
def served(request, databases: DatabaseFactory, tmp_path) -> Iterator[ServedDatabase]:
    """Users of every role, the master data, a second room shelf SHELF-2, and tina's API token."""
    backend = request.param
    if (backend == "postgresql") == POSTGRES:
        url = databases.new_url(template=True)  # a copy of the session's migrated template
        app = build_app(url, str(tmp_path / "instance"))
    else:
        url = f"sqlite:///{tmp_path / 'served.sqlite3'}"
        app = build_app(url, str(tmp_path / "instance"))
        migrate_to_head(app)
    for role, (username, name) in ROLE_USERS.items():
        make_user(app, username, (role,), name)
    with app.app_context():
        lots = setup_master_data(clock.today())
        storage.create_unit(user("ada"), code="SHELF-2", name="Second room shelf", condition="room")
        db.session.commit()
        secret, _ = tokens.issue_user_token("tina", PASSWORD)
        db.session.remove()
        db.engine.dispose()  # no connection of this process stays open while the server runs
    yield ServedDatabase(backend, url, app, lots, {"tina": {"Authorization": f"Bearer {secret}"}})
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if backend == "postgresql":
        databases.drop(url)
