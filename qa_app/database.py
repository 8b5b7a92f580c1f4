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
        # REPLACE removes a conflicting row without firing its DELETE triggers unless this is
        # on: with it, the append-only tables refuse ``INSERT OR REPLACE`` like a DELETE.
        cursor.execute("PRAGMA recursive_triggers=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# --- append-only tables (used by migrations) -----------------------------------------------


def create_append_only_triggers(op, table: str) -> None:
    """Make the database itself refuse UPDATE and DELETE (and TRUNCATE) on ``table``.

    On SQLite, ``INSERT OR REPLACE`` (``REPLACE INTO``) would delete the row it replaces
    without firing the DELETE trigger, so a third trigger refuses any insert whose key is
    taken already (see ``create_replace_guard``). On PostgreSQL ``INSERT … ON CONFLICT DO
    UPDATE`` fires the UPDATE trigger and is refused by it.
    """
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {event} refused'); END"
            )
        create_replace_guard(op, table)
        return
    op.execute(
        f"""
        CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{table} is append-only: % refused', TG_OP;
        END $$
        """
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
    )


def unique_keys(bind: sa.Connection, table: str) -> list[list[str]]:
    """The column lists of ``table``'s primary key and of each UNIQUE constraint or index."""
    inspector = sa.inspect(bind)
    keys = [inspector.get_pk_constraint(table)["constrained_columns"]]
    keys += [c["column_names"] for c in inspector.get_unique_constraints(table)]
    keys += [i["column_names"] for i in inspector.get_indexes(table) if i.get("unique")]
    found: list[list[str]] = []
    for key in keys:
        if key and all(key) and key not in found:
            found.append(key)
    return found


def create_replace_guard(op, table: str) -> None:
    """SQLite: refuse an insert whose primary key or unique key is taken already.

    ``INSERT OR REPLACE`` resolves such a conflict by deleting the old row, which would
    rewrite an append-only record. A plain duplicate insert is refused either way.
    """
    keys = unique_keys(op.get_bind(), table) if op.get_bind().dialect.name == "sqlite" else []
    if not keys:
        return
    taken = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE "
        + " AND ".join(f'"{column}" = NEW."{column}"' for column in key)
        + ")"
        for key in keys
    )
    op.execute(
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} WHEN {taken} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: REPLACE refused'); END"
    )


def drop_replace_guard(op, table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")


def drop_append_only_triggers(op, table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        drop_replace_guard(op, table)
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
