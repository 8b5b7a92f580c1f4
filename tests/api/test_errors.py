"""Bad input: a JSON error naming the fields, never a 500, and no row changed."""

import pytest

from tests.conftest import PASSWORD

GOOD_USER = {"username": "sam", "full_name": "Sam Smith", "roles": ["technician"], "password": PASSWORD}
THIRTY_TWO_MIB = 32 * 1024 * 1024


MISSING = object()


def with_changes(**changes) -> dict:
    """GOOD_USER with fields changed, added, or left out (given as MISSING)."""
    body = dict(GOOD_USER, **changes)
    return {k: v for k, v in body.items() if v is not MISSING}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (with_changes(username=5), {"username"}),
        (with_changes(roles="admin"), {"roles"}),
        (with_changes(password=123), {"password"}),
        (with_changes(username=5, roles="admin", password=123), {"username", "roles", "password"}),
        ({}, {"username", "full_name", "roles", "password"}),
        (with_changes(password=MISSING), {"password"}),
        (with_changes(full_name=MISSING, roles=MISSING), {"full_name", "roles"}),
        (with_changes(roles=["chef"]), {"roles.0"}),
        (with_changes(roles=["technician", "chef"]), {"roles.1"}),
        (with_changes(roles=[]), {"roles"}),
        (with_changes(password="x" * 11), {"password"}),
        (with_changes(username="al"), {"username"}),
        (with_changes(username="has space"), {"username"}),
        (with_changes(full_name="   "), {"full_name"}),
        (with_changes(is_admin=True), {"is_admin"}),
        (with_changes(username=None), {"username"}),
    ],
    ids=[
        "username 5",
        "roles as a string",
        "password 123",
        "three wrong types",
        "empty object",
        "no password",
        "no name and no roles",
        "unknown role chef",
        "chef after a good role",
        "no roles",
        "password of 11 characters",
        "username of 2 characters",
        "username with a space",
        "blank full name",
        "unknown field",
        "username null",
    ],
)
def test_invalid_users_are_refused_naming_each_bad_field(client, admin, snapshot, body, fields):
    before = snapshot()
    response = client.post("/api/v1/users", headers=admin, json=body)
    error = assert_error(response, 400, "invalid_input")
    assert set(error["fields"]) == fields
    assert snapshot() == before


def test_the_password_message_names_twelve_characters(client, admin):
    response = client.post("/api/v1/users", headers=admin, json=with_changes(password="x" * 11))
    assert "12 characters" in response.get_json()["error"]["fields"]["password"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ('{"username": "sam",', "application/json"),
        ("[]", "application/json"),
        ('["sam", "Sam Smith"]', "application/json"),
        ("null", "application/json"),
        ('"sam"', "application/json"),
        (b'{"username": "\xff"}', "application/json"),
        ("", "application/json"),
        ('{"username": "sam"}', "text/plain"),
        ("username=sam", "application/x-www-form-urlencoded"),
    ],
    ids=[
        "cut-off JSON",
        "empty array",
        "array",
        "null",
        "string",
        "not UTF-8",
        "empty body",
        "text/plain",
        "form",
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_naming_body(client, admin, snapshot, data, content_type):
    before = snapshot()
    response = client.post("/api/v1/users", headers=admin, data=data, content_type=content_type)
    error = assert_error(response, 400, "invalid_input")
    assert set(error["fields"]) == {"body"}
    assert snapshot() == before


def test_a_body_over_32_mib_is_413_in_the_json_error_format(client, admin, snapshot):
    before = snapshot()
    response = client.post(
        "/api/v1/users",
        headers=admin,
        data=b"x" * (THIRTY_TWO_MIB + 1),
        content_type="application/json",
    )
    error = assert_error(response, 413, "too_large")
    assert "32 MiB" in error["message"]
    assert snapshot() == before


def test_a_duplicate_username_is_409_naming_username(client, admin, snapshot):
    before = snapshot()
    response = client.post("/api/v1/users", headers=admin, json=with_changes(username="Tina"))
    error = assert_error(response, 409, "conflict")
    assert set(error["fields"]) == {"username"}
    assert snapshot() == before


def test_a_valid_user_is_created_with_201(app, client, admin, snapshot):
    users_before, events_before = snapshot()
    response = client.post("/api/v1/users", headers=admin, json=GOOD_USER)
    assert response.status_code == 201
    body = response.get_json()
    assert (body["username"], body["roles"], body["active"], body["locked"]) == (
        "sam",
        ["technician"],
        True,
        False,
    )
    assert "password" not in body
    assert snapshot() == (users_before + 1, events_before + 1)


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/users/tina/promote", "/api/v1/"])
def test_an_unknown_api_path_is_404_json(client, admin, path):
    assert_error(client.get(path, headers=admin), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v1/users"),
        ("PUT", "/api/v1/users"),
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/health"),
    ],
)
def test_a_wrong_method_is_405_json(client, admin, method, path):
    assert_error(client.open(path, method=method, headers=admin), 405, "method_not_allowed")


def test_a_405_names_the_allowed_methods(client, admin):
    response = client.delete("/api/v1/users", headers=admin)
    assert set(response.headers.get("Allow", "").replace(" ", "").split(",")) >= {"GET", "POST"}


@pytest.mark.parametrize("role", ["technician", "reviewer", "inspector"])
def test_only_an_admin_creates_users(client, users, auth, snapshot, role):
    headers = auth.token(users[role])
    before = snapshot()
    response = client.post("/api/v1/users", headers=headers, json=GOOD_USER)
    assert_error(response, 403, "forbidden")
    assert snapshot() == before


def test_a_forbidden_request_is_refused_before_its_body_is_checked(client, users, auth):
    headers = auth.token(users["technician"])
    assert_error(client.post("/api/v1/users", headers=headers, json={}), 403, "forbidden")


def make_sams(client, admin, how_many: int) -> None:
    for n in range(how_many):
        body = with_changes(username=f"sam{n:02d}")
        assert client.post("/api/v1/users", headers=admin, json=body).status_code == 201


def test_pages_of_users_carry_page_per_page_and_total(client, admin):
    make_sams(client, admin, 8)
    body = client.get("/api/v1/users?page=2&per_page=5", headers=admin).get_json()
    assert (body["page"], body["per_page"], body["total"]) == (2, 5, 12)
    assert [u["username"] for u in body["items"]] == ["sam02", "sam03", "sam04", "sam05", "sam06"]


def test_the_last_page_holds_the_rest_and_a_page_past_it_is_empty(client, admin):
    make_sams(client, admin, 8)
    last = client.get("/api/v1/users?page=3&per_page=5", headers=admin).get_json()
    past = client.get("/api/v1/users?page=4&per_page=5", headers=admin).get_json()
    assert [u["username"] for u in last["items"]] == ["sam07", "tina"]
    assert (past["items"], past["total"]) == ([], 12)


def test_the_default_page_is_the_first_fifty(client, admin):
    body = client.get("/api/v1/users", headers=admin).get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 4)


def test_two_hundred_per_page_is_allowed(client, admin):
    assert client.get("/api/v1/users?per_page=200", headers=admin).get_json()["per_page"] == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=201", "per_page"),
        ("per_page=0", "per_page"),
        ("per_page=abc", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
    ],
)
def test_bad_paging_is_400_naming_the_parameter(client, admin, query, field):
    error = assert_error(client.get(f"/api/v1/users?{query}", headers=admin), 400, "invalid_input")
    assert set(error["fields"]) == {field}


@pytest.mark.parametrize("page", ["100000000000000000000", "10000000000000000"])
def test_an_absurd_page_number_is_400_naming_page(client, admin, page):
    response = client.get(f"/api/v1/users?page={page}", headers=admin)
    error = assert_error(response, 400, "invalid_input")
    assert set(error["fields"]) == {"page"}


def test_deeply_nested_json_is_400_not_500(client, admin, snapshot):
    before = snapshot()
    nested = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/users", headers=admin, data=nested, content_type="application/json")
    assert_error(response, 400, "invalid_input")
    assert snapshot() == before


def test_text_that_is_not_valid_unicode_is_400_not_500(client, admin, snapshot):
    before = snapshot()
    body = '{"username": "sam", "full_name": "Sam \\ud800", "roles": ["technician"], "password": "%s"}'
    response = client.post(
        "/api/v1/users", headers=admin, data=body % PASSWORD, content_type="application/json"
    )
    assert set(assert_error(response, 400, "invalid_input")["fields"]) == {"full_name"}
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/tokens", {"username": "a\u0000b", "password": "x"}),
        ("GET", "/api/v1/audit?entity=us%00er", None),
        ("POST", "/api/v1/users/ti%00na/deactivate", {}),
    ],
    ids=["token username", "audit filter", "username in the path"],
)
def test_a_nul_character_is_not_a_500(client, admin, method, path, body):
    response = client.open(path, method=method, headers=admin, json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"
