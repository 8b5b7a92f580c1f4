"""Throw-away databases for the tests: SQLite files, or PostgreSQL when TEST_DATABASE_URL is set.

The schema is made once per run by the real migrations into a template; each test then gets a
copy (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), so tests are
isolated without re-running migrations every time.
"""

import os
import shutil
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
POSTGRES = TEST_DATABASE_URL.startswith("postgres")


def _pg_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _admin_engine() -> sa.Engine:
    return sa.create_engine(_pg_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")


class DatabaseFactory:
    """Makes the template once and hands out fresh copies of it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.run_id = uuid.uuid4().hex[:8]
        self.created: list[str] = []
        self.template_url: str | None = None

    def new_url(self, name: str | None = None, template: bool = False) -> str:
        """An empty database (``template=False``) or a copy of the migrated template."""
        name = name or f"qa_test_{self.run_id}_{len(self.created)}"
        if POSTGRES:
            engine = _admin_engine()
            with engine.connect() as conn:
                source = f" TEMPLATE {make_url(self.template_url).database}" if template else ""
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"{source}')
            engine.dispose()
            self.created.append(name)
            return make_url(_pg_url(TEST_DATABASE_URL)).set(database=name).render_as_string(False)
        path = self.workdir / f"{name}.sqlite3"
        if template:
            shutil.copyfile(make_url(self.template_url).database, path)
        self.created.append(str(path))
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        if not POSTGRES:
            return
        name = make_url(url).database
        engine = _admin_engine()
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        if POSTGRES:
            for name in list(self.created):
                self.drop(f"postgresql+psycopg:///{name}")
        else:
            for path in self.created:
                for suffix in ("", "-wal", "-shm"):
                    Path(path + suffix).unlink(missing_ok=True)
        self.created.clear()

    @staticmethod
    def copy_file(url: str, target: Path) -> None:
        shutil.copyfile(make_url(url).database, target)
