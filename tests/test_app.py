"""The application factory: configuration from the environment, with safe defaults."""

import stat

from config import Config, TestConfig
from qa_app import create_app


def test_without_a_secret_key_one_is_generated_once_and_kept(tmp_path):
    class NoKey(TestConfig):
        SECRET_KEY = None

    url = f"sqlite:///{tmp_path}/a.sqlite3"
    first = create_app(NoKey, instance_path=str(tmp_path / "instance"), SQLALCHEMY_DATABASE_URI=url)
    second = create_app(NoKey, instance_path=str(tmp_path / "instance"), SQLALCHEMY_DATABASE_URI=url)
    key_file = tmp_path / "instance" / "secret_key"
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_the_embedded_default_is_sqlite_in_the_instance_folder(tmp_path):
    class Embedded(Config):
        SQLALCHEMY_DATABASE_URI = None
        SECRET_KEY = "k"

    app = create_app(Embedded, instance_path=str(tmp_path / "instance"))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/instance/qa.sqlite3"


def test_a_plain_postgresql_url_is_given_the_psycopg_driver(tmp_path):
    app = create_app(
        TestConfig, instance_path=str(tmp_path), SQLALCHEMY_DATABASE_URI="postgresql://qa@db.internal/qa"
    )
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://qa@db.internal/qa"


def test_sessions_end_after_fifteen_idle_minutes_and_bodies_stop_at_32_mib():
    assert Config.PERMANENT_SESSION_LIFETIME.total_seconds() == 900
    assert Config.MAX_CONTENT_LENGTH == 33_554_432
    assert (Config.SESSION_COOKIE_HTTPONLY, Config.SESSION_COOKIE_SAMESITE) == (True, "Lax")
