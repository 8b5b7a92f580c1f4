"""What the answers say about themselves: nothing cached that carries tokens, users or records,
and no server or framework version announced."""

import http.client
import threading

from werkzeug.serving import make_server

from tests.conftest import PASSWORD


def test_a_token_answer_is_not_stored_by_any_cache(client, users):
    response = client.post("/api/v1/tokens", json={"username": "ada", "password": PASSWORD})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"


def test_the_user_list_is_not_stored_by_any_cache(client, users, auth):
    response = client.get("/api/v1/users", headers=auth.token("ada"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_an_api_refusal_is_not_stored_either(client, users):
    response = client.post("/api/v1/tokens", json={"username": "ada", "password": "wrong-password"})
    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"


def test_the_development_server_names_no_versions(app, users):
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request("GET", "/api/v1/health")
        response = connection.getresponse()
        response.read()
        connection.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert response.status == 200
    assert response.headers.get_all("Server") == ["qa-app"]
    assert "Werkzeug" not in str(response.headers) and "Python" not in str(response.headers)
