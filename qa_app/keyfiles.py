"""Keys generated once and kept in the instance folder (the session key, the audit key)."""

import os
import secrets
from pathlib import Path


def create_key_file(path: Path) -> None:
    """Write a new key beside ``path`` and link it into place, so that of several processes
    starting at once exactly one key wins and nobody reads a half-written file."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links: create it in place instead
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(draft.read_text())
    finally:
        draft.unlink()


def instance_key(path: Path) -> str:
    """The key kept at ``path``, created on first use."""
    if not path.exists():
        create_key_file(path)
    return path.read_text().strip()
