"""Batch quality assurance for compounded Low Dose Naltrexone."""

import os
from pathlib import Path

from flask import Flask

from qa_app.bodies import BoundedRequest
from qa_app.database import configure_sqlite, sqlite_url
from qa_app.extensions import csrf, db, login_manager, migrate
from qa_app.keyfiles import instance_key

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(
    config_object: object | str = "config.Config", instance_path: str | None = None, **overrides
) -> Flask:
    """Build the application: a table of contents of the steps below."""
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.request_class = BoundedRequest  # a streamed body over MAX_CONTENT_LENGTH is a 413, never cut
    app.config.from_object(config_object)
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    configure_database_url(app)
    configure_secret_key(app)
    register_extensions(app)
    register_url_converters(app)
    register_blueprints(app)
    register_security(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def configure_database_url(app: Flask) -> None:
    """SQLite in the instance folder unless DATABASE_URL names another database."""
    url = app.config.get("SQLALCHEMY_DATABASE_URI") or sqlite_url(app)
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    app.config["SQLALCHEMY_DATABASE_URI"] = url


def configure_secret_key(app: Flask) -> None:
    """Use SECRET_KEY, or a key generated once and kept in the instance folder."""
    if app.config.get("SECRET_KEY"):
        return
    app.config["SECRET_KEY"] = instance_key(Path(app.instance_path) / "secret_key")


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)


def register_url_converters(app: Flask) -> None:
    """``<int:...>`` names a record's id: bounded to what the database holds (validation.py)."""
    from qa_app.validation import RecordIdConverter

    app.url_map.converters["int"] = RecordIdConverter


def register_blueprints(app: Flask) -> None:
    from qa_app.api import bp as api_bp
    from qa_app.web.admin.routes import bp as admin_bp
    from qa_app.web.audit.routes import bp as audit_bp
    from qa_app.web.auth.routes import bp as auth_bp
    from qa_app.web.balances.routes import bp as balances_bp
    from qa_app.web.batches.routes import bp as batches_bp
    from qa_app.web.formulas.routes import bp as formulas_bp
    from qa_app.web.main.routes import bp as main_bp
    from qa_app.web.materials.routes import bp as materials_bp
    from qa_app.web.review.routes import bp as review_bp
    from qa_app.web.storage.routes import bp as storage_bp
    from qa_app.web.trends.routes import bp as trends_bp
    from qa_app.web.verify.routes import bp as verify_bp

    csrf.exempt(api_bp)  # bearer tokens, no cookies: nothing for a forged request to ride on
    for bp in (
        auth_bp,
        main_bp,
        batches_bp,
        materials_bp,
        formulas_bp,
        storage_bp,
        balances_bp,
        trends_bp,
        admin_bp,
        audit_bp,
        review_bp,
        verify_bp,
        api_bp,
    ):
        app.register_blueprint(bp)


def register_security(app: Flask) -> None:
    from qa_app import security

    security.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from qa_app import error_pages

    error_pages.init_app(app)


def register_template_helpers(app: Flask) -> None:
    from qa_app.web import filters

    filters.init_app(app)


def register_commands(app: Flask) -> None:
    from qa_app import cli

    cli.init_app(app)
