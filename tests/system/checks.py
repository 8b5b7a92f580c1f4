"""What "the database is consistent" means after a crash, checked inside an app context."""

import sqlite3
import time

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from qa_app.extensions import db


def orphaned_rows() -> dict[str, int]:
    """Rows whose foreign key names a row that does not exist, by ``table.column`` (empty: none)."""
    found = {}
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            parent = fk.column.table.alias()
            child = fk.parent
            stmt = (
                sa.select(sa.func.count())
                .select_from(table)
                .where(child.is_not(None), ~sa.exists().where(parent.c[fk.column.name] == child))
            )
            orphans = db.session.scalar(stmt)
            if orphans:
                found[f"{table.name}.{child.name}"] = orphans
    return found


def sqlite_integrity() -> tuple[str, list]:
    """``PRAGMA integrity_check`` ("ok") and ``PRAGMA foreign_key_check`` (no rows)."""
    integrity = db.session.execute(sa.text("PRAGMA integrity_check")).scalar_one()
    foreign_keys = db.session.execute(sa.text("PRAGMA foreign_key_check")).all()
    return integrity, foreign_keys


def wait_for_abandoned_transactions(timeout: float = 30.0) -> None:
    """On PostgreSQL, wait until no other session of this database is inside a transaction.

    A killed server's backend rolls its transaction back once it notices its client is gone;
    nothing is checked before that, so nothing can still be on its way in.
    """
    if db.engine.dialect.name != "postgresql":
        return
    stmt = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
    )
    deadline = time.monotonic() + timeout
    while True:
        busy = db.session.scalar(stmt)
        db.session.rollback()  # a fresh snapshot of pg_stat_activity at each look
        if busy == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{busy} transaction(s) of the killed server still open after {timeout:.0f} s"
            )
        time.sleep(0.1)


def transaction_open(url: str) -> bool:
    """Whether another process holds a transaction open on the database at ``url`` right now.

    SQLite: the app begins every transaction with ``BEGIN IMMEDIATE``, so an open one holds
    the write lock and a probe cannot take it. PostgreSQL: a session with a transaction start.
    """
    if url.startswith("sqlite"):
        probe = sqlite3.connect(make_url(url).database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            return True
        finally:
            probe.close()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return bool(
                connection.scalar(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                    )
                )
            )
    finally:
        engine.dispose()
