"""The schema comes only from migrations, and the models agree with it, on both engines."""

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from qa_app.extensions import db
from tests.conftest import build_app


def _empty_app(databases, tmp_path):
    url = databases.new_url()
    return url, build_app(url, str(tmp_path / "instance"))


def test_an_empty_database_upgrades_to_head_and_matches_the_models(databases, tmp_path):
    url, app = _empty_app(databases, tmp_path)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(
                    MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata
                )
                tables = set(sa.inspect(conn).get_table_names())
            db.engine.dispose()
        assert diff == []
        assert {"user", "user_role", "api_token", "audit_event", "audit_chain_head", "signature"} <= tables
    finally:
        databases.drop(url)


def test_downgrade_to_base_and_upgrade_again_leaves_a_working_schema(databases, tmp_path):
    url, app = _empty_app(databases, tmp_path)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            flask_migrate.downgrade(revision="base")
            with db.engine.connect() as conn:
                assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
            flask_migrate.upgrade()
            head = db.session.execute(sa.text("SELECT seq, hash FROM audit_chain_head")).one()
            db.session.remove()
            db.engine.dispose()
        assert tuple(head) == (0, "0" * 64)
    finally:
        databases.drop(url)


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            assert db.engine.dialect.name == "postgresql"
            assert db.engine.url.drivername == "postgresql+psycopg"
            return
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
