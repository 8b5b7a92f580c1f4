"""A body over 32 MiB is a 413 and nothing is stored, with a Content-Length or streamed in chunks
without one, under gunicorn and under the development server, over a real socket.

A streamed body used to be cut at the limit and the first part stored: a readings CSV whose
last value 22.5 was cut after its first digit stored 2.0 °C.
"""

import http.client
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from qa_app.extensions import db
from qa_app.models import Reading
from tests.system.conftest import ServedDatabase
from tests.system.server import Server

LIMIT = 32 * 1024 * 1024
PATH = "/api/v1/storage-units/SHELF-1/readings"
CHUNK = 1024 * 1024


def padded_csv(size: int, start: datetime) -> bytes:
    """A reading, blank lines, and a last reading of 22.5 that ends the ``size`` bytes."""
    head = f"at,temperature_c\n{start.isoformat()},21.0\n".encode()
    tail = f"{(start + timedelta(minutes=5)).isoformat()},22.5\n".encode()
    return head + b"\n" * (size - len(head) - len(tail)) + tail


def post(port: int, body: bytes, headers: dict[str, str], *, chunked: bool) -> int | str:
    """The status, or what went wrong sending (a server that hangs up instead of answering)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {**headers, "Content-Type": "text/csv"}
    try:
        if chunked:
            pieces = (body[i : i + CHUNK] for i in range(0, len(body), CHUNK))
            connection.request("POST", PATH, body=pieces, headers=headers, encode_chunked=True)
        else:
            connection.request("POST", PATH, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


def readings(served: ServedDatabase) -> int:
    with served.app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Reading))
        db.session.remove()
        db.engine.dispose()
        return count


@pytest.fixture
def gunicorn_port(served, gunicorn, tmp_path) -> Iterator[int]:
    server = Server(served.url, tmp_path / "gunicorn.log").start()
    try:
        yield server.port
    finally:
        server.stop()


@pytest.fixture
def dev_server_port(served) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, served.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.mark.parametrize("server", ["gunicorn", "development server"])
def test_a_body_over_32_mib_is_413_with_or_without_its_length(request, served, server):
    port = request.getfixturevalue("gunicorn_port" if server == "gunicorn" else "dev_server_port")
    tina = served.headers["tina"]
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=2)

    answers = {
        "chunked": post(port, padded_csv(LIMIT + 4, start), tina, chunked=True),
        "with its length": post(port, padded_csv(LIMIT + 4, start), tina, chunked=False),
    }

    assert answers == {"chunked": 413, "with its length": 413}
    assert readings(served) == 0
    # At the limit exactly, the whole body is read and stored, the last value whole.
    assert post(port, padded_csv(LIMIT, start), tina, chunked=True) == 200
    with served.app.app_context():
        last = db.session.scalar(sa.select(Reading.temperature_c).order_by(Reading.at.desc()).limit(1))
        db.session.remove()
        db.engine.dispose()
    assert last == 22.5
