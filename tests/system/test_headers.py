"""The real server (gunicorn) announces no version, and keeps API answers out of caches."""

import http.client

from tests.system.server import Server


def test_gunicorn_names_no_version_and_api_answers_are_not_cached(served, gunicorn, tmp_path):
    server = Server(served.url, tmp_path / "gunicorn.log").start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request("GET", "/api/v1/batches", headers=served.headers["tina"])
        response = connection.getresponse()
        response.read()
        connection.close()
    finally:
        server.stop()
    assert response.status == 200, server.log_tail()
    assert response.headers.get_all("Server") == ["gunicorn"]  # no version number, and sent once
    assert response.headers["Cache-Control"] == "no-store"
