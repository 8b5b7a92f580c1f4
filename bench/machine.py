"""What the benchmarks ran on: processor, memory, system and the versions that shape the figures."""

import os
import platform
import sqlite3
from importlib import metadata
from pathlib import Path

POSTGRES = os.environ.get("LOAD_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _cpu() -> str:
    found: dict[str, str] = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        found.setdefault(key.strip(), value.strip())
    model = found.get("model name", "unknown processor")
    family = f" (family {found['cpu family']}, model {found['model']})" if "cpu family" in found else ""
    virtual = ", virtual machine" if "hypervisor" in found.get("flags", "").split() else ""
    return f"{model}{family}, {os.cpu_count()} cores{virtual}, {platform.machine()}"


def _memory() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1048576:.1f} GiB"
    return "unknown"


def _system() -> str:
    pretty = platform.system()
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.split("=", 1)[1].strip('"')
    return f"{pretty}, Linux kernel {platform.release()}"


def _postgres_version() -> str:
    try:
        import psycopg

        with psycopg.connect(POSTGRES, connect_timeout=5) as conn:
            return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # the report still describes the rest of the machine
        return f"not reachable ({type(exc).__name__})"


def postgres_unreachable() -> str | None:
    """Why the load run cannot use PostgreSQL, or None when it can."""
    version = _postgres_version()
    return None if version.startswith("PostgreSQL") else f"PostgreSQL at {POSTGRES} {version}"


def describe() -> dict[str, str]:
    packages = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("numpy", "SQLAlchemy", "Flask", "reportlab", "gunicorn")
    )
    return {
        "CPU": _cpu(),
        "Memory": _memory(),
        "OS": _system(),
        "Python": f"{platform.python_implementation()} {platform.python_version()} ({packages})",
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": _postgres_version(),
    }
