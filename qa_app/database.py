"""Engine set-up for the two supported databases."""

import sqlite3

import sqlalchemy as sa
from flask import Flask


def sqlite_url(app: Flask) -> str:
    return f"sqlite:///{app.instance_path}/qa.sqlite3"


def configure_sqlite(engine: sa.Engine) -> None:
    """WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for every transaction.

    SQLite allows one writer; a deferred transaction that reads and then writes can fail when
    another writer got in between. Taking the write lock at BEGIN makes writers queue (up to
    the busy timeout) instead, which keeps the audit chain and every read-then-write use case
    consistent.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
