"""Configuration: everything the application reads from its environment."""

import os
from datetime import timedelta


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


class Config:
    """Production and development settings, read from the environment.

    ``DATABASE_URL`` left unset means SQLite in the instance folder; ``SECRET_KEY`` left
    unset means a key generated once and kept in the instance folder (see ``create_app``).
    """

    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL")
    SECRET_KEY = _env("SECRET_KEY")

    # The audit key seals every audit event (HMAC); it must live apart from the database and
    # its backups. ``QA_AUDIT_KEY`` gives it (at least 32 characters), or ``QA_AUDIT_KEY_FILE``
    # names the file holding it; with neither, ``audit.key`` in the instance folder is made on
    # first use (see qa_app/services/audit.py and the README).
    QA_AUDIT_KEY = _env("QA_AUDIT_KEY")
    QA_AUDIT_KEY_FILE = _env("QA_AUDIT_KEY_FILE")

    QA_PHARMACY_NAME = _env("QA_PHARMACY_NAME", "Compounding Pharmacy")
    QA_PHARMACY_ADDRESS = _env("QA_PHARMACY_ADDRESS", "")
    QA_TIMEZONE = _env("QA_TIMEZONE", "UTC")
    QA_PUBLIC_URL = _env("QA_PUBLIC_URL", "http://127.0.0.1:5000")

    # E-mail alerts (`flask --app qa_app alerts send`): the SMTP server, the sender address and,
    # when the server asks for them, STARTTLS and a login.
    QA_SMTP_HOST = _env("QA_SMTP_HOST", "localhost")
    QA_SMTP_PORT = int(_env("QA_SMTP_PORT", "25"))
    QA_MAIL_FROM = _env("QA_MAIL_FROM", "qa@localhost")
    QA_SMTP_STARTTLS = _env("QA_SMTP_STARTTLS", "0") == "1"
    QA_SMTP_USERNAME = _env("QA_SMTP_USERNAME")
    QA_SMTP_PASSWORD = _env("QA_SMTP_PASSWORD")
    QA_SMTP_TIMEOUT = float(_env("QA_SMTP_TIMEOUT", "30"))

    # Shared workstations: a browser session ends after 15 minutes without a request.
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=15)
    SESSION_REFRESH_EACH_REQUEST = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("QA_HTTPS", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True

    MAX_CONTENT_LENGTH = 32 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the (idle-limited) session

    # The public certificate check (page and API): requests per address and window (0: no limit).
    QA_VERIFY_RATE_LIMIT = int(_env("QA_VERIFY_RATE_LIMIT", "30"))
    QA_VERIFY_RATE_WINDOW = float(_env("QA_VERIFY_RATE_WINDOW", "60"))

    QA_TOKEN_LIFETIME = timedelta(hours=8)
    QA_LOCKOUT_THRESHOLD = 5
    QA_LOCKOUT_DURATION = timedelta(minutes=15)
    QA_PASSWORD_MIN_LENGTH = 12

    # argon2id (RFC 9106 second recommended option: 64 MiB, t=3, p=4).
    QA_ARGON2_TIME_COST = 3
    QA_ARGON2_MEMORY_COST = 64 * 1024
    QA_ARGON2_PARALLELISM = 4

    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}


class TestConfig(Config):
    """Settings for the test suite: a throw-away database and cheap password hashing.

    ``TEST_DATABASE_URL`` selects PostgreSQL; without it each app gets its own SQLite file
    (the tests' fixtures set the path).
    """

    TESTING = True
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL")
    SECRET_KEY = "test-secret-key-not-for-production"
    QA_AUDIT_KEY = "test-audit-key-not-for-production-0123456789"
    WTF_CSRF_ENABLED = False
    QA_ARGON2_TIME_COST = 1
    QA_ARGON2_MEMORY_COST = 8
    QA_ARGON2_PARALLELISM = 1
