"""The real server in another process: gunicorn on a loopback port, started, stopped and killed.

The tests talk to it over HTTP like a workstation or a logger would, so a SIGKILL really
drops the connections and the database sees a client vanish in the middle of a transaction.
"""

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from config import TestConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30.0


def gunicorn_path() -> str | None:
    """gunicorn next to this Python (the project's venv), else on PATH."""
    beside = Path(sys.executable).parent / "gunicorn"
    return str(beside) if beside.exists() else shutil.which("gunicorn")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``gunicorn 'qa_app:create_app()'`` with the production Config, reading DATABASE_URL."""

    def __init__(self, database_url: str, log_path: Path, workers: int = 1) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.workers = workers
        self.secret_key = secrets.token_hex(16)
        self.process: subprocess.Popen | None = None
        self.port = 0

    def start(self) -> "Server":
        gunicorn = gunicorn_path()
        assert gunicorn, "gunicorn is not installed"
        self.port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": self.secret_key,
            "QA_AUDIT_KEY": TestConfig.QA_AUDIT_KEY,  # the key the tests' set-up sealed with
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            gunicorn,
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "120",
            "qa_app:create_app()",
        ]
        with open(self.log_path, "ab") as log:
            # A session of its own: the process group is gunicorn's arbiter and its workers.
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log, start_new_session=True
            )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, _ = self.call("GET", "/api/v1/health", timeout=2)
            except OSError:
                status = None
            if status == 200:
                return
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"gunicorn did not answer within {STARTUP_SECONDS:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL to the whole process group: no handler runs, nothing is flushed or rolled back."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """A graceful stop (SIGTERM), killed if it takes longer than ten seconds."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def call(
        self,
        method: str,
        path: str,
        body: bytes | str | dict | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> tuple[int, dict]:
        """One request; answers (status, JSON body or {})."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw) if raw else {}
        except ValueError:
            return response.status, {"raw": raw[:200].decode(errors="replace")}


class PendingRequest(threading.Thread):
    """A request sent in the background, so the server can be killed while it works on it.

    ``sent`` is set once the whole body has been handed over; ``outcome`` ends as
    ``(status, body)`` or as the exception the client saw.
    """

    def __init__(self, server: Server, path: str, body: bytes, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.server, self.path, self.body, self.headers = server, path, body, headers
        self.sent = threading.Event()
        self.sent_at = 0.0
        self.outcome: tuple[int, bytes] | BaseException | None = None

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=300)
        try:
            connection.request("POST", self.path, body=self.body, headers=self.headers)
            self.sent_at = time.monotonic()
            self.sent.set()
            response = connection.getresponse()
            self.outcome = (response.status, response.read())
        except (OSError, http.client.HTTPException) as exc:
            self.outcome = exc
        finally:
            self.sent.set()
            connection.close()
