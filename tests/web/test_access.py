"""The URL-map walk: every route and method, for a visitor and for each role, against one table.

The table is written by hand from product.md and api.md. A route that is not in it fails
``test_every_route_is_in_the_access_table``: whoever adds a route decides here who may use it.
"""

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from qa_app.extensions import db
from qa_app.services import batches, clock
from tests import builders
from tests.conftest import PASSWORD, ROLE_USERS, build_app, make_user
from tests.web.pages import sent_to_sign_in, sign_in

PUBLIC = "anyone"
ANY = "any signed-in user"
ADMIN = frozenset({"admin"})
AUDIT_READERS = frozenset({"reviewer", "admin", "inspector"})
# "A reviewer may everything a technician may" (product.md).
COMPOUNDERS = frozenset({"technician", "reviewer"})
REVIEWER = frozenset({"reviewer"})
FORMULA_APPROVERS = frozenset({"reviewer", "admin"})
EXPORTERS = frozenset({"reviewer", "admin"})
ROLES = ("technician", "reviewer", "admin", "inspector")

ACCESS: dict[tuple[str, str], str | frozenset[str]] = {
    ("auth.login", "GET"): PUBLIC,
    ("auth.login", "POST"): PUBLIC,
    ("auth.logout", "POST"): ANY,
    ("auth.change_password", "GET"): ANY,
    ("auth.change_password", "POST"): ANY,
    ("auth.change_alerts", "POST"): ANY,
    ("main.home", "GET"): ANY,
    ("admin.users", "GET"): ADMIN,
    ("admin.new_user", "GET"): ADMIN,
    ("admin.new_user", "POST"): ADMIN,
    ("admin.user", "GET"): ADMIN,
    ("admin.user", "POST"): ADMIN,
    ("admin.deactivate", "POST"): ADMIN,
    ("admin.reactivate", "POST"): ADMIN,
    ("admin.unlock", "POST"): ADMIN,
    ("admin.alerts_of", "POST"): ADMIN,
    ("audit.events", "GET"): AUDIT_READERS,
    ("audit.export_csv", "GET"): AUDIT_READERS,
    ("audit.verify", "GET"): AUDIT_READERS,
    ("api.health", "GET"): PUBLIC,
    ("api.openapi_document", "GET"): PUBLIC,
    ("api.issue_token", "POST"): PUBLIC,
    ("api.list_users", "GET"): ADMIN,
    ("api.create_user", "POST"): ADMIN,
    ("api.deactivate_user", "POST"): ADMIN,
    ("api.unlock_user", "POST"): ADMIN,
    ("api.set_user_alerts", "PUT"): ANY,
    ("api.list_audit", "GET"): AUDIT_READERS,
    ("api.verify_audit", "GET"): AUDIT_READERS,
    ("batches.index", "GET"): ANY,
    ("batches.record", "GET"): ANY,
    ("batches.label", "GET"): ANY,
    ("batches.add_result", "POST"): COMPOUNDERS,
    ("batches.open_investigation", "POST"): REVIEWER,
    ("batches.close_investigation", "POST"): REVIEWER,
    ("batches.import_results", "GET"): COMPOUNDERS,
    ("batches.import_results", "POST"): COMPOUNDERS,
    ("batches.new", "GET"): COMPOUNDERS,
    ("batches.new", "POST"): COMPOUNDERS,
    ("batches.add_component", "POST"): COMPOUNDERS,
    ("batches.verify", "POST"): COMPOUNDERS,
    ("batches.weight_check", "POST"): COMPOUNDERS,
    ("batches.complete", "POST"): COMPOUNDERS,
    ("batches.discard", "POST"): COMPOUNDERS,
    ("batches.move", "POST"): COMPOUNDERS,
    ("materials.index", "GET"): ANY,
    ("materials.lot", "GET"): ANY,
    ("materials.label", "GET"): ANY,
    ("materials.check", "GET"): ANY,
    ("materials.material_list", "GET"): ANY,
    ("materials.new_lot", "GET"): COMPOUNDERS,
    ("materials.new_lot", "POST"): COMPOUNDERS,
    ("materials.approve", "POST"): REVIEWER,
    ("materials.reject", "POST"): REVIEWER,
    ("materials.recall", "POST"): REVIEWER,
    ("materials.recall_page", "GET"): ANY,
    ("materials.recall_report", "GET"): ANY,
    ("materials.new_material", "GET"): ADMIN,
    ("materials.new_material", "POST"): ADMIN,
    ("materials.edit_material", "GET"): ADMIN,
    ("materials.edit_material", "POST"): ADMIN,
    ("formulas.index", "GET"): ANY,
    ("formulas.formula", "GET"): ANY,
    ("formulas.new", "GET"): ADMIN,
    ("formulas.new", "POST"): ADMIN,
    ("formulas.new_version", "GET"): ADMIN,
    ("formulas.new_version", "POST"): ADMIN,
    ("formulas.approve", "POST"): FORMULA_APPROVERS,
    ("formulas.review_pdf", "GET"): AUDIT_READERS,
    ("formulas.sign_review", "POST"): REVIEWER,
    ("storage.units", "GET"): ANY,
    ("storage.new_unit", "GET"): ADMIN,
    ("storage.new_unit", "POST"): ADMIN,
    ("storage.unit", "GET"): ANY,
    ("storage.upload_readings", "POST"): COMPOUNDERS,
    ("storage.manual_reading", "POST"): COMPOUNDERS,
    ("storage.issue_device_token", "POST"): ADMIN,
    ("storage.revoke_device_token", "POST"): ADMIN,
    ("storage.excursions_list", "GET"): ANY,
    ("storage.excursion", "GET"): ANY,
    ("storage.acknowledge_excursion", "POST"): REVIEWER,
    ("storage.record_disposition", "POST"): REVIEWER,
    ("balances.index", "GET"): ANY,
    ("balances.balance", "GET"): ANY,
    ("balances.new", "GET"): ADMIN,
    ("balances.new", "POST"): ADMIN,
    ("balances.edit", "GET"): ADMIN,
    ("balances.edit", "POST"): ADMIN,
    ("balances.record_check", "POST"): COMPOUNDERS,
    ("api.list_balances", "GET"): ANY,
    ("api.create_balance", "POST"): ADMIN,
    ("api.get_balance", "GET"): ANY,
    ("api.change_balance", "PATCH"): ADMIN,
    ("api.record_check", "POST"): COMPOUNDERS,
    ("api.list_materials", "GET"): ANY,
    ("api.create_material", "POST"): ADMIN,
    ("api.change_material", "PATCH"): ADMIN,
    ("api.list_lots", "GET"): ANY,
    ("api.receive_lot", "POST"): COMPOUNDERS,
    ("api.get_lot", "GET"): ANY,
    ("api.approve_lot", "POST"): REVIEWER,
    ("api.reject_lot", "POST"): REVIEWER,
    ("api.where_used", "GET"): ANY,
    ("api.recall_lot", "POST"): REVIEWER,
    ("api.recall_report", "GET"): ANY,
    ("api.list_formulas", "GET"): ANY,
    ("api.get_formula", "GET"): ANY,
    ("api.create_formula", "POST"): ADMIN,
    ("api.new_version", "POST"): ADMIN,
    ("api.approve_formula", "POST"): FORMULA_APPROVERS,
    ("api.sign_product_review", "POST"): REVIEWER,
    ("api.list_product_reviews", "GET"): AUDIT_READERS,
    ("api.product_review_pdf", "GET"): AUDIT_READERS,
    ("api.list_batches", "GET"): ANY,
    ("api.create_batch", "POST"): COMPOUNDERS,
    ("api.get_batch", "GET"): ANY,
    ("api.record_component", "POST"): COMPOUNDERS,
    ("api.verify_weighing", "POST"): COMPOUNDERS,
    ("api.weight_check", "POST"): COMPOUNDERS,
    ("api.complete", "POST"): COMPOUNDERS,
    ("api.discard", "POST"): COMPOUNDERS,
    ("api.move", "POST"): COMPOUNDERS,
    ("api.list_storage_units", "GET"): ANY,
    ("api.create_storage_unit", "POST"): ADMIN,
    ("api.get_storage_unit", "GET"): ANY,
    ("api.post_readings", "POST"): COMPOUNDERS,
    ("api.storage_summary", "GET"): ANY,
    ("api.create_device_token", "POST"): ADMIN,
    ("api.list_device_tokens", "GET"): ADMIN,
    ("api.revoke_device_token", "DELETE"): ADMIN,
    ("api.list_excursions", "GET"): ANY,
    ("api.get_excursion", "GET"): ANY,
    ("api.acknowledge_excursion", "POST"): REVIEWER,
    ("api.record_disposition", "POST"): REVIEWER,
    ("api.record_result", "POST"): COMPOUNDERS,
    ("api.import_results", "POST"): COMPOUNDERS,
    ("api.open_investigation", "POST"): REVIEWER,
    ("api.get_investigation", "GET"): ANY,
    ("api.close_investigation", "POST"): REVIEWER,
    ("review.page", "GET"): ANY,
    ("review.release_batch", "POST"): REVIEWER,
    ("review.reject_batch", "POST"): REVIEWER,
    ("review.recall_batch", "POST"): REVIEWER,
    ("review.certificate_pdf", "GET"): ANY,
    ("review.record_pdf", "GET"): ANY,
    ("review.export_list", "GET"): EXPORTERS,
    ("review.export_list", "POST"): EXPORTERS,
    ("review.export", "GET"): EXPORTERS,
    ("review.export_advance", "POST"): EXPORTERS,
    ("review.export_download", "GET"): EXPORTERS,
    ("verify.lookup", "GET"): PUBLIC,
    ("verify.certificate", "GET"): PUBLIC,
    ("verify.certificate", "POST"): PUBLIC,
    ("api.batch_review", "GET"): ANY,
    ("api.release_batch", "POST"): REVIEWER,
    ("api.reject_batch", "POST"): REVIEWER,
    ("api.recall_batch", "POST"): REVIEWER,
    ("api.certificate_pdf", "GET"): ANY,
    ("api.record_pdf", "GET"): ANY,
    ("api.get_certificate", "GET"): PUBLIC,
    ("trends.index", "GET"): AUDIT_READERS,
    ("trends.formula", "GET"): AUDIT_READERS,
    ("trends.acknowledge", "POST"): REVIEWER,
    ("api.get_trend", "GET"): AUDIT_READERS,
    ("api.list_trend_signals", "GET"): REVIEWER,
    ("api.acknowledge_trend_signal", "POST"): REVIEWER,
}

# Starting or ending one's own session changes no record, so even the inspector may.
SESSION_DOORS = {
    ("auth.login", "POST"),
    ("auth.logout", "POST"),
    ("auth.change_password", "POST"),  # one's own password: every role keeps its account safe
    ("auth.change_alerts", "POST"),  # one's own e-mail alerts: no quality record changes
    ("api.set_user_alerts", "PUT"),
    ("api.issue_token", "POST"),
}
# Comparing an uploaded PDF with a certificate's stored hash changes no record either.
READ_ONLY_POSTS = {("verify.certificate", "POST")}
UNCHECKED_ENDPOINTS = {"static"}
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}

# URL variables name real records. The user is one of its own, so what the walk posts never
# touches the walkers.
TARGET = "pat"
FORMULA = "LDN-CAP"

# Empty bodies are refused as input (400), clash with a record's state (409), or redirect back to
# the page (302); the role is checked before the record is looked up (404): all got past the door.
REACHED = {200, 201, 302, 400, 404, 409}

# Signing out ends every session and API token of the person, the module's bearer tokens
# included: that door is walked last.
ROWS = sorted(ACCESS, key=lambda row: (row == ("auth.logout", "POST"), row))
ROW_IDS = [f"{method} {endpoint}" for endpoint, method in ROWS]


def allows(who: str | frozenset[str], role: str) -> bool:
    return who in (PUBLIC, ANY) or role in who


def is_api(endpoint: str) -> bool:
    return endpoint.startswith("api.")


@pytest.fixture(scope="module")
def walk_app(databases, tmp_path_factory) -> Iterator[Flask]:
    """One app for the whole walk: the four role users, the user the URLs name, and master data
    with one draft batch, so that every URL variable names a real record."""
    url = databases.new_url(template=True)
    app = build_app(url, str(tmp_path_factory.mktemp("walk-instance")))
    for role, (username, name) in ROLE_USERS.items():
        make_user(app, username, (role,), name)
    make_user(app, TARGET, ("technician",), "Pat Target")
    with app.app_context():
        lots = builders.setup_master_data(clock.today())
        batch = batches.create_batch(builders.user("tina"), formula=FORMULA, quantity=100, strength_mg=1.5)
        db.session.commit()
        app.config["WALK_URL_VALUES"] = {  # read by url_of
            "username": TARGET,
            "barcode": lots["api"],
            "code": FORMULA,
            "material_code": "NTX-HCL",
            "lot_number": batch.lot_number,
            "investigation_id": 1,
            "result_id": 1,
            "test": "assay",
            "unit_code": "FRIDGE-1",
            "balance_code": "XS205",
            "excursion_id": 1,
            "token_id": 1,
            "number": "COA-2026-00001",
            "export_id": 1,
            "year": clock.today().year,
            "signal_id": 1,
        }
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


@pytest.fixture(scope="module")
def bearer(walk_app: Flask) -> dict[str, dict[str, str]]:
    """An API token per role."""
    client = walk_app.test_client()
    headers = {}
    for role, (username, _name) in ROLE_USERS.items():
        response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
        assert response.status_code == 201
        headers[role] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    return headers


def url_of(app: Flask, endpoint: str, method: str) -> str:
    rule = next(r for r in app.url_map.iter_rules(endpoint) if method in r.methods)
    values = {name: app.config["WALK_URL_VALUES"][name] for name in rule.arguments}
    return app.url_map.bind("localhost").build(endpoint, values, method=method)


def call(app: Flask, client, endpoint: str, method: str, headers=None) -> TestResponse:
    url = url_of(app, endpoint, method)
    if method == "GET":
        return client.get(url, headers=headers)
    if is_api(endpoint):
        return client.open(url, method=method, json={}, headers=headers)
    return client.open(url, method=method, data={}, headers=headers)


def reached(response: TestResponse) -> bool:
    return response.status_code in REACHED and not sent_to_sign_in(response)


def test_every_route_is_in_the_access_table(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNCHECKED_ENDPOINTS
        for method in rule.methods - IMPLICIT_METHODS
    }
    assert sorted(routes - ACCESS.keys()) == [], "a new route: add it to ACCESS with who may use it"
    assert sorted(ACCESS.keys() - routes) == [], "a route is gone: remove it from ACCESS"


def test_the_inspector_may_change_nothing():
    changes = [row for row in ROWS if row[1] != "GET" and row not in SESSION_DOORS | READ_ONLY_POSTS]
    assert changes
    assert [row for row in changes if allows(ACCESS[row], "inspector")] == []


@pytest.mark.parametrize(("endpoint", "method"), ROWS, ids=ROW_IDS)
def test_a_visitor_who_has_not_signed_in(walk_app, endpoint, method):
    """Public doors open; pages send the visitor to sign in; the API answers 401 in JSON."""
    response = call(walk_app, walk_app.test_client(), endpoint, method)
    if ACCESS[endpoint, method] == PUBLIC:
        assert reached(response), response.status_code
    elif is_api(endpoint):
        assert response.status_code == 401
        error = response.get_json()["error"]
        assert error["code"] == "not_authenticated"
        assert error["message"]
    else:
        assert sent_to_sign_in(response), response.status_code
        location = urlsplit(response.headers["Location"])
        assert parse_qs(location.query)["next"] == [url_of(walk_app, endpoint, method)]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method"), ROWS, ids=ROW_IDS)
def test_each_role_reaches_exactly_what_the_table_allows(walk_app, bearer, endpoint, method, role):
    """Pages are tried after signing in through the form, the API with the role's bearer token."""
    client = walk_app.test_client()
    headers = None
    if is_api(endpoint):
        headers = bearer[role]
    else:
        assert sign_in(client, ROLE_USERS[role][0]).status_code == 302
    response = call(walk_app, client, endpoint, method, headers)
    if allows(ACCESS[endpoint, method], role):
        assert reached(response), (response.status_code, response.headers.get("Location"))
    else:
        assert response.status_code == 403
        if is_api(endpoint):
            assert response.get_json()["error"]["code"] == "forbidden"
