"""Balances through the JSON API: their minimum weight (USP <41>), the daily performance check,
and the weighing gate a component posted through the API meets."""

import pytest

from qa_app.services import clock
from tests.api.conftest import actions
from tests.builders import setup_master_data

XS3 = {
    "code": "XS3",
    "name": "Mettler Toledo XS205, second bench",
    "readability_mg": 0.01,
    "repeatability_sd_mg": 0.003,
    "capacity_g": 220.0,
}
# 1 mg readability, s 0.5 mg: a minimum weight of 2000 × max(0.5, 0.41) = 1000.0 mg.
FLOOR = {
    "code": "FLOOR-1",
    "name": "Floor scale",
    "readability_mg": 1.0,
    "repeatability_sd_mg": 0.5,
    "capacity_g": 6200.0,
}


@pytest.fixture
def lots(app, users):
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def today(app) -> str:
    with app.app_context():
        return clock.today().isoformat()


@pytest.fixture
def tina(auth, lots):
    return auth.token("tina")


def create(client, headers, **changes):
    return client.post("/api/v1/balances", json=XS3 | changes, headers=headers)


def check(client, headers, code, nominal, observed):
    return client.post(
        f"/api/v1/balances/{code}/checks",
        json={"nominal_mg": nominal, "observed_mg": observed},
        headers=headers,
    )


def test_an_admin_creates_a_balance_that_is_not_usable_before_its_first_check(client, admin, lots, today):
    response = create(client, admin, qualified_on="2026-01-15")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["code"], body["minimum_weight_mg"], body["capacity_g"], body["qualified_on"]) == (
        "XS3",
        8.2,
        220.0,
        "2026-01-15",
    )
    assert body["usable"] is False
    assert body["usable_reason"] == (
        f"balance XS3 has no performance check today ({today}): check it with a test weight first"
    )
    assert body["last_check"] is None
    assert actions(client.application, key="XS3") == ["balance.created"]


def test_a_check_within_0_10_percent_passes_and_makes_the_balance_usable(client, admin, tina, today):
    create(client, admin)
    answer = check(client, tina, "XS3", 100000.0, 100100.0)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["passed"], body["error_percent"], body["reason"]) == (True, 0.1, None)
    assert body["local_date"] == today
    assert body["recorded_by"] == "tina"
    shown = client.get("/api/v1/balances/XS3", headers=tina).get_json()
    assert (shown["usable"], shown["usable_reason"]) == (True, None)
    assert shown["last_check"]["observed_mg"] == 100100.0


def test_a_check_beyond_0_10_percent_fails_is_kept_and_makes_the_balance_unusable(client, admin, tina):
    create(client, admin)
    check(client, tina, "XS3", 100000.0, 100000.0)
    answer = check(client, tina, "XS3", 100000.0, 100101.0)
    assert answer.status_code == 201
    body = answer.get_json()
    assert (body["passed"], body["error_percent"]) == (False, 0.101)
    assert body["reason"] == (
        "the balance read 100101 mg for 100000 mg, an error of +0.101 %, beyond ±0.10 %; "
        "have the balance adjusted or serviced, then check it again"
    )
    shown = client.get("/api/v1/balances/XS3", headers=tina).get_json()
    assert shown["usable"] is False
    assert shown["usable_reason"].startswith("today's last performance check of balance XS3 failed")
    assert [(c["observed_mg"], c["passed"]) for c in shown["checks"]] == [(100101.0, False), (100000.0, True)]


def test_a_test_weight_outside_5_to_100_percent_of_the_capacity_fails(client, admin, tina):
    create(client, admin)
    body = check(client, tina, "XS3", 10000.0, 10000.0).get_json()  # 5 % of 220 g is 11000 mg
    assert (body["passed"], body["error_percent"]) == (False, 0.0)
    assert body["reason"] == (
        "the test weight, 10000 mg, is outside 5–100 % of the capacity (11000–220000 mg); "
        "use a test weight in that range"
    )


def test_the_list_shows_every_balance_with_its_minimum_weight(client, tina):
    body = client.get("/api/v1/balances", headers=tina).get_json()
    assert body["total"] == 2
    assert [(b["code"], b["minimum_weight_mg"], b["usable"]) for b in body["items"]] == [
        ("UMX2", 0.2, True),
        ("XS205", 8.2, True),
    ]
    assert body["items"][1]["last_check"]["nominal_mg"] == 100000.0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "XS 3"}, "code"),
        ({"code": "X" * 41}, "code"),
        ({"name": " "}, "name"),
        ({"name": "N" * 201}, "name"),
        ({"readability_mg": "0.01"}, "readability_mg"),
        ({"readability_mg": 0}, "readability_mg"),
        ({"repeatability_sd_mg": -0.003}, "repeatability_sd_mg"),
        ({"repeatability_sd_mg": 1001}, "repeatability_sd_mg"),
        ({"capacity_g": 0}, "capacity_g"),
        ({"qualified_on": "15.01.2026"}, "qualified_on"),
        ({"qualified_on": "2999-01-01"}, "qualified_on"),
        ({"colour": "grey"}, "colour"),
    ],
)
def test_a_bad_balance_is_refused_naming_the_field(client, admin, lots, changes, field):
    response = create(client, admin, **changes)
    assert response.status_code == 400
    assert list(response.get_json()["error"]["fields"]) == [field]
    assert client.get("/api/v1/balances/XS3", headers=admin).status_code == 404


@pytest.mark.parametrize("field", ["code", "name", "readability_mg", "repeatability_sd_mg", "capacity_g"])
def test_a_balance_without_a_required_figure_is_refused_naming_it(client, admin, lots, field):
    body = {name: value for name, value in XS3.items() if name != field}
    response = client.post("/api/v1/balances", json=body, headers=admin)
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {field: "Required."}


def test_a_technician_may_not_create_a_balance(client, tina):
    response = create(client, tina)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("code", ["XS205", "xs205"])
def test_a_code_taken_already_is_a_conflict(client, admin, lots, code):
    response = create(client, admin, code=code)
    assert response.status_code == 409
    assert response.get_json()["error"]["fields"] == {"code": "This code is taken."}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/balances/NOPE", None),
        ("PATCH", "/api/v1/balances/NOPE", {"name": "Other"}),
        ("POST", "/api/v1/balances/NOPE/checks", {"nominal_mg": 100000.0, "observed_mg": 100000.0}),
    ],
)
def test_an_unknown_balance_is_404(client, auth, lots, method, path, body):
    headers = auth.token("ada" if method == "PATCH" else "tina")
    response = client.open(path, method=method, json=body, headers=headers)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"nominal_mg": "100 g", "observed_mg": 100000.0}, "nominal_mg"),
        ({"nominal_mg": 100000.0, "observed_mg": 0}, "observed_mg"),
        ({"nominal_mg": 100000.0}, "observed_mg"),
    ],
)
def test_a_bad_check_is_refused_naming_the_field(client, tina, body, field):
    response = client.post("/api/v1/balances/XS205/checks", json=body, headers=tina)
    assert response.status_code == 400
    assert list(response.get_json()["error"]["fields"]) == [field]


@pytest.mark.parametrize("username", ["ada", "ivan"])
def test_only_technicians_and_reviewers_check_balances(client, auth, lots, username):
    response = check(client, auth.token(username), "XS205", 100000.0, 100000.0)
    assert response.status_code == 403


def test_an_admin_takes_a_balance_out_of_use_with_a_reason(client, admin, tina):
    response = client.patch(
        "/api/v1/balances/XS205", json={"active": False, "reason": "Sent for service"}, headers=admin
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["active"], body["usable"], body["usable_reason"]) == (
        False,
        False,
        "balance XS205 is out of use",
    )
    refused = check(client, tina, "XS205", 100000.0, 100000.0)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["fields"]["balance"] == (
        "Balance XS205 is out of use; an admin can put it back in use."
    )
    events = client.get("/api/v1/audit?entity=balance&key=XS205", headers=admin).get_json()["items"]
    assert (events[-1]["action"], events[-1]["reason"]) == ("balance.updated", "Sent for service")


def test_new_figures_give_a_new_minimum_weight(client, admin, lots):
    response = client.patch(
        "/api/v1/balances/XS205",
        json={"repeatability_sd_mg": 0.02, "qualified_on": "2026-01-20", "reason": "Yearly USP <41> test"},
        headers=admin,
    )
    body = response.get_json()
    assert (body["minimum_weight_mg"], body["qualified_on"]) == (40.0, "2026-01-20")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"capacity_g": -1}, "capacity_g"),
        ({"active": "no"}, "active"),
        ({"qualified_on": "soon"}, "qualified_on"),
    ],
)
def test_a_bad_change_is_refused_naming_the_field(client, admin, lots, body, field):
    response = client.patch("/api/v1/balances/XS205", json=body, headers=admin)
    assert response.status_code == 400
    assert list(response.get_json()["error"]["fields"]) == [field]


def test_a_technician_may_not_change_a_balance(client, tina):
    assert client.patch("/api/v1/balances/XS205", json={"name": "Mine"}, headers=tina).status_code == 403


def _draft(client, headers) -> str:
    created = client.post(
        "/api/v1/batches", json={"formula": "LDN-CAP", "strength_mg": 1.5, "quantity": 100}, headers=headers
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()["lot_number"]


def test_a_weighing_on_a_balance_not_checked_today_is_refused_naming_balance(client, admin, lots, tina):
    create(client, admin)
    lot = _draft(client, tina)
    response = client.post(
        f"/api/v1/batches/{lot}/components",
        json={"barcode": lots["api"], "quantity_mg": 151.6, "balance": "XS3"},
        headers=tina,
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert list(error["fields"]) == ["balance"]
    assert error["fields"]["balance"].startswith("Balance XS3 has no performance check today")
    check(client, tina, "XS3", 100000.0, 100000.0)
    again = client.post(
        f"/api/v1/batches/{lot}/components",
        json={"barcode": lots["api"], "quantity_mg": 151.6, "balance": "XS3"},
        headers=tina,
    )
    assert again.status_code == 201, again.get_json()


def test_a_weighing_below_the_minimum_weight_is_refused_naming_quantity(client, admin, lots, tina):
    assert create(client, admin, **FLOOR).get_json()["minimum_weight_mg"] == 1000.0
    assert check(client, tina, "FLOOR-1", 1000000.0, 1000000.0).get_json()["passed"] is True
    lot = _draft(client, tina)
    response = client.post(
        f"/api/v1/batches/{lot}/components",
        json={"barcode": lots["api"], "quantity_mg": 151.6, "balance": "FLOOR-1"},
        headers=tina,
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {
        "quantity_mg": "151.6 mg is below the minimum weight of balance FLOOR-1 (1000.0 mg, USP <41>): "
        "weigh it on a balance with a lower minimum weight, or make the batch from a trituration "
        "(usable today: UMX2: 0.2 mg minimum, XS205: 8.2 mg minimum)"
    }
