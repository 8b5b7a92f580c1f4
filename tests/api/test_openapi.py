"""The OpenAPI 3.1 document: valid, complete, and honest about who may call what."""

import re

import pytest
from openapi_spec_validator import validate

IGNORED_METHODS = {"HEAD", "OPTIONS"}
PUBLIC_PATHS = ["/api/v1/tokens", "/api/v1/health", "/api/v1/openapi.json"]


def openapi_path(rule: str) -> str:
    """``/users/<username>`` (or ``<int:id>``) as OpenAPI writes it: ``/users/{username}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def sample_url(rule: str) -> str:
    """A concrete URL for ``rule``, every variable filled with a plausible value."""
    return re.sub(r"<[^<>]+>", "1", rule)


def api_operations(app) -> list[tuple[str, str]]:
    """(rule, method) of every route the API blueprint registered."""
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - IGNORED_METHODS
    )


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_document_is_served_without_a_token_and_is_valid_openapi_3_1(document):
    validate(document)
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])


def test_the_document_names_the_bearer_scheme(document):
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_every_api_route_and_method_is_in_the_document(app, document):
    operations = api_operations(app)
    assert len(operations) >= 8
    missing = [
        (rule, method)
        for rule, method in operations
        if method.lower() not in document["paths"].get(openapi_path(rule), {})
    ]
    assert missing == []


def test_the_document_describes_no_route_that_does_not_exist(app, document):
    served = {(openapi_path(rule), method.lower()) for rule, method in api_operations(app)}
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert described - served == set()


def test_path_parameters_match_the_path(document):
    for path, item in document["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, f"{path}"


def test_operations_that_answer_401_without_a_token_declare_bearer_and_401(app, client, document):
    """Asked without a token, each operation either refuses with 401 and says so, or is public."""
    checked = 0
    for rule, method in api_operations(app):
        response = client.open(sample_url(rule), method=method)
        operation = document["paths"][openapi_path(rule)][method.lower()]
        if response.status_code == 401:
            assert operation.get("security") == [{"bearer": []}], f"{method} {rule}"
            assert "401" in operation["responses"], f"{method} {rule}"
            checked += 1
        else:
            assert "security" not in operation, f"{method} {rule} answers {response.status_code}"
    assert checked >= 5


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_public_doors_need_no_security(document, path):
    for operation in document["paths"][path].values():
        assert "security" not in operation


def test_operations_limited_to_roles_declare_403(app, document):
    for rule, method in api_operations(app):
        endpoint = next(
            r.endpoint for r in app.url_map.iter_rules() if r.rule == rule and method in r.methods
        )
        roles = getattr(app.view_functions[endpoint], "qa_roles", None)
        operation = document["paths"][openapi_path(rule)][method.lower()]
        if roles:
            assert "403" in operation["responses"], f"{method} {rule}"
            assert " or ".join(roles) in operation["description"]


def test_operations_with_a_body_declare_400_and_413(document):
    with_body = [
        operation
        for item in document["paths"].values()
        for operation in item.values()
        if "requestBody" in operation
    ]
    assert len(with_body) >= 3
    for operation in with_body:
        assert {"400", "413"} <= set(operation["responses"]), operation["operationId"]


def test_operation_ids_are_unique(document):
    ids = [operation["operationId"] for item in document["paths"].values() for operation in item.values()]
    assert len(ids) == len(set(ids))


def test_the_token_operation_answers_201_with_the_token_shape(document):
    created = document["paths"]["/api/v1/tokens"]["post"]["responses"]["201"]
    schema = created["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Token"}
    assert document["components"]["schemas"]["Token"]["required"] == ["token", "expires_at"]
