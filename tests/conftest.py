"""Fixtures: an app on a fresh migrated database per test, clients, users of every role."""

from collections.abc import Iterator

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient

from config import TestConfig
from qa_app import create_app
from qa_app.extensions import db
from qa_app.models import User
from qa_app.services import accounts
from tests.databases import POSTGRES, DatabaseFactory

PASSWORD = "correct-horse-battery"
ROLE_USERS = {
    "technician": ("tina", "Tina Technician"),
    "reviewer": ("rob", "Rob Reviewer, PharmD"),
    "admin": ("ada", "Ada Admin, RPh"),
    "inspector": ("ivan", "Ivan Inspector"),
}


def pytest_report_header(config) -> str:
    return f"database: {'PostgreSQL (TEST_DATABASE_URL)' if POSTGRES else 'SQLite files'}"


def build_app(url: str, instance_path: str, **overrides) -> Flask:
    return create_app(TestConfig, instance_path=instance_path, SQLALCHEMY_DATABASE_URI=url, **overrides)


def migrate_to_head(app: Flask) -> None:
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[DatabaseFactory]:
    """The migrated template, made once per run; dropped with every copy at the end."""
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    factory.template_url = factory.new_url(name=f"qa_tmpl_{factory.run_id}")
    template_app = build_app(factory.template_url, str(tmp_path_factory.mktemp("instance")))
    migrate_to_head(template_app)
    yield factory
    factory.drop_all()


@pytest.fixture
def app(databases: DatabaseFactory, tmp_path) -> Iterator[Flask]:
    url = databases.new_url(template=True)
    application = build_app(url, str(tmp_path / "instance"))
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


def make_user(
    app: Flask,
    username: str,
    roles: tuple[str, ...] | list[str],
    full_name: str | None = None,
    password: str = PASSWORD,
) -> User:
    with app.app_context():
        user = accounts.create_user(
            None,
            username=username,
            full_name=full_name or username.title(),
            roles=roles,
            password=password,
            actor_name="test",
        )
        db.session.expunge(user)
        return user


@pytest.fixture
def users(app: Flask) -> dict[str, str]:
    """One user per role; maps role → username (password: PASSWORD)."""
    for role, (username, name) in ROLE_USERS.items():
        make_user(app, username, (role,), name)
    return {role: username for role, (username, _name) in ROLE_USERS.items()}


class AuthActions:
    """Sign in through the real login form, or get an API token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = PASSWORD):
        return self.client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self.client.post("/logout")

    def token(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        response = self.client.post("/api/v1/tokens", json={"username": username, "password": password})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
