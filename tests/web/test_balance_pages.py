"""The balance pages: the list with minimum weights and today's state, creating and changing a
balance (admin), its page with today's check, and the balance chosen on the batch page's weighing
form, remembered by the workstation."""

import re

import pytest

from qa_app.services import balances, batches, clock
from tests.builders import setup_master_data, user
from tests.web.pages import field_error, input_value, messages, sign_in, text
from tests.web.test_batch_pages import component_rows, row, selected, table_rows, today, words

XS3 = {
    "code": "xs3",
    "name": "Mettler Toledo XS205, second bench",
    "readability_mg": "0.01",
    "repeatability_sd_mg": "0.003",
    "capacity_g": "220",
    "qualified_on": "",
}
XS205_LABEL = "XS205 — Mettler Toledo XS205 semi-micro analytical balance (min 8.2 mg, max 220 g)"
UMX2_LABEL = "UMX2 — Mettler Toledo UMX2 ultra-micro balance (min 0.2 mg, max 2.1 g)"


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    """The master data with the balances XS205 and UMX2, both checked today by tina."""
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def draft(app, lots) -> str:
    with app.app_context():
        return batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number


def balance_rows(page: str) -> dict[str, list[str]]:
    """code → the other cells of its row in the list, as read."""
    body = re.search(r'<table class="striped" id="balances">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    rows = [
        [words(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
    return {cells[0]: cells[1:] for cells in rows}


def options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    return [words(label) for label in re.findall(r"<option[^>]*>(.*?)</option>", select.group(1), re.S)]


def add_xs3(app) -> None:
    """A third balance, not checked today."""
    with app.app_context():
        balances.create_balance(
            user("ada"),
            code="XS3",
            name="Mettler Toledo XS205, second bench",
            readability_mg=0.01,
            repeatability_sd_mg=0.003,
            capacity_g=220.0,
        )


def test_the_list_shows_each_balance_with_its_minimum_weight_and_today_s_check(client, lots):
    sign_in(client, "ivan")
    page = text(client.get("/balances/"))
    listed = balance_rows(page)
    assert listed["XS205"][:6] == [
        "Mettler Toledo XS205 semi-micro analytical balance",
        "0.01 mg",
        "0.003 mg",
        "220 g",
        "8.2 mg",
        "yes",
    ]
    assert listed["XS205"][6].startswith("passed (+0.000 %), tina at ")
    assert listed["UMX2"][1:6] == ["0.0001 mg", "0.0001 mg", "2.1 g", "0.2 mg", "yes"]
    assert 'href="/balances/new"' not in page


def test_an_admin_creates_a_balance_and_its_page_explains_the_minimum_weight(app, client, lots):
    sign_in(client, "ada")
    response = client.post("/balances/new", data=XS3)
    assert response.status_code == 302
    assert response.headers["Location"] == "/balances/XS3"
    page = text(client.get("/balances/XS3"))
    assert "Balance XS3 created: minimum weight 8.2 mg. Check it before use." in messages(page)
    assert row(page, "Minimum weight") == (
        "8.2 mg: 2000 × max(s, 0.41 d) = 2000 × max(0.003, 0.0041) = 8.2 mg. "
        "A smaller amount cannot be weighed on this balance within 0.10 %."
    )
    assert row(page, "Usable now") == (
        f"no: balance XS3 has no performance check today ({today(app).isoformat()}): "
        "check it with a test weight first"
    )
    assert table_rows(page, "checks") == [["No check recorded yet."]]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": ""}, "code", "Give a short code, e.g. XS205."),
        (
            {"code": "XS 3"},
            "code",
            "Use only letters A–Z, digits, hyphens (-) and underscores (_), e.g. XS205.",
        ),
        ({"name": ""}, "name", "Give the balance's name (make, model, where it stands)."),
        ({"readability_mg": ""}, "readability_mg", "Give the readability in mg, e.g. 0.01."),
        (
            {"repeatability_sd_mg": "0"},
            "repeatability_sd_mg",
            "Repeatability (standard deviation) must be between 0.000001 and 1,000 mg.",
        ),
        (
            {"capacity_g": "0,5"},
            "capacity_g",
            "'0,5' has a decimal comma: use a point as the decimal separator, use the digits 0-9 and a point, "
            "e.g. 12.5.",
        ),
        ({"capacity_g": "200000"}, "capacity_g", "Capacity must be between 0.001 and 100,000 g."),
        ({"qualified_on": "2999-01-01"}, "qualified_on", "The USP <41> test date must not be in the future."),
    ],
)
def test_bad_input_is_named_beside_the_field(client, lots, changes, field, message):
    sign_in(client, "ada")
    response = client.post("/balances/new", data=XS3 | changes)
    assert response.status_code == 400
    assert field_error(text(response), field) == message
    assert client.get("/balances/XS3").status_code == 404


def test_a_code_taken_already_is_refused_beside_the_code(client, lots):
    sign_in(client, "ada")
    response = client.post("/balances/new", data=XS3 | {"code": "XS205"})
    assert response.status_code == 409
    assert field_error(text(response), "code") == "This code is taken."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/balances/new"),
        ("POST", "/balances/new"),
        ("GET", "/balances/XS205/edit"),
        ("POST", "/balances/XS205/edit"),
    ],
)
def test_a_technician_may_not_create_or_change_a_balance(client, lots, method, path):
    sign_in(client, "tina")
    assert client.open(path, method=method, data=XS3).status_code == 403


def test_an_admin_takes_a_balance_out_of_use_with_a_reason(client, lots):
    sign_in(client, "ada")
    form = text(client.get("/balances/XS205/edit"))
    assert 'name="out_of_use"' in form and 'name="reason"' in form
    assert (input_value(form, "readability_mg"), input_value(form, "capacity_g")) == ("0.01", "220")
    response = client.post(
        "/balances/XS205/edit",
        data=XS3
        | {
            "name": "Mettler Toledo XS205 semi-micro analytical balance",
            "out_of_use": "y",
            "reason": "Sent for service",
        },
    )
    assert response.status_code == 302
    assert balance_rows(text(client.get("/balances/")))["XS205"][5] == "no: balance XS205 is out of use"
    audit = text(client.get("/audit/?entity=balance&key=XS205"))
    assert "Sent for service" in audit
    sign_in(client, "tina")
    page = text(client.get("/balances/XS205"))
    assert "Record today's check" not in page


def test_the_check_form_records_a_passing_then_a_failing_check(app, client, lots):
    add_xs3(app)
    sign_in(client, "tina")
    page = text(client.get("/balances/XS3"))
    assert "Put a test weight of 11000–220000 mg (5–100 % of the capacity) on the balance" in words(page)
    passed = client.post("/balances/XS3/checks", data={"nominal_mg": "100000", "observed_mg": "100100.0"})
    assert passed.status_code == 302
    page = text(client.get("/balances/XS3"))
    assert "Check passed (+0.100 %): XS3 may be used today." in messages(page)
    assert row(page, "Usable now") == "yes"
    [first] = table_rows(page, "checks")
    assert first[:6] == [today(app).isoformat(), "100000 mg", "100100 mg", "+0.100 %", "passed", "tina"]

    client.post("/balances/XS3/checks", data={"nominal_mg": "100000", "observed_mg": "100101.0"})
    page = text(client.get("/balances/XS3"))
    reason = (
        "the balance read 100101 mg for 100000 mg, an error of +0.101 %, beyond ±0.10 %; "
        "have the balance adjusted or serviced, then check it again"
    )
    assert f"Check failed: {reason}. XS3 may not be used." in messages(page)
    newest, older = table_rows(page, "checks")
    assert newest[:5] == [today(app).isoformat(), "100000 mg", "100101 mg", "+0.101 %", f"failed: {reason}"]
    assert older[4] == "passed"
    assert row(page, "Usable now").startswith("no: today's last performance check of balance XS3 failed")


def test_a_check_without_the_reading_is_refused_beside_it(client, lots):
    sign_in(client, "tina")
    response = client.post("/balances/XS205/checks", data={"nominal_mg": "100000", "observed_mg": ""})
    assert response.status_code == 400
    assert field_error(text(response), "observed_mg") == "Give what the balance read, in mg."


def test_the_weighing_form_offers_the_balances_and_marks_the_unusable_one(app, client, lots, draft):
    add_xs3(app)
    sign_in(client, "tina")
    page = text(client.get(f"/batches/{draft}"))
    assert options(page, "balance") == [
        "Choose the balance…",
        UMX2_LABEL,
        XS205_LABEL,
        "XS3 — Mettler Toledo XS205, second bench (min 8.2 mg, max 220 g) — NOT USABLE: balance XS3 has no "
        f"performance check today ({today(app).isoformat()}): check it with a test weight first",
    ]
    assert selected(page, "balance") is None


def test_the_workstation_remembers_the_balance_of_the_last_weighing(client, lots, draft):
    sign_in(client, "tina")
    response = client.post(
        f"/batches/{draft}/components",
        data={"barcode": lots["api"], "quantity_mg": "151.6", "balance": "XS205"},
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("qa_balance=XS205;")
    assert {"HttpOnly", "SameSite=Lax", "Max-Age=31536000"} <= {part.strip() for part in cookie.split(";")}
    assert "Secure" not in cookie
    page = text(client.get(f"/batches/{draft}"))
    assert component_rows(page)[0][8] == "XS205"
    assert selected(page, "balance") == "XS205"
    client.post("/logout")
    sign_in(client, "rob")  # the next person at the same workstation
    assert selected(text(client.get(f"/batches/{draft}")), "balance") == "XS205"


def test_the_remembered_balance_cookie_is_secure_when_the_session_cookie_is(app, client, lots, draft):
    app.config["SESSION_COOKIE_SECURE"] = True
    sign_in(client, "tina")
    response = client.post(
        f"/batches/{draft}/components",
        data={"barcode": lots["api"], "quantity_mg": "151.6", "balance": "XS205"},
    )
    assert "Secure" in [part.strip() for part in response.headers["Set-Cookie"].split(";")]


def test_a_weighing_on_a_balance_not_checked_today_is_refused_naming_the_balance(app, client, lots, draft):
    add_xs3(app)
    sign_in(client, "tina")
    response = client.post(
        f"/batches/{draft}/components",
        data={"barcode": lots["api"], "quantity_mg": "151.6", "balance": "XS3"},
    )
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers or "qa_balance" not in response.headers["Set-Cookie"]
    page = text(response)
    assert field_error(page, "balance") == (
        f"Balance XS3 has no performance check today ({today(app).isoformat()}): check it with a test weight first"
    )
    assert selected(page, "balance") == "XS3"
    assert component_rows(page)[0][0].startswith("Nothing recorded yet.")


def test_a_weighing_without_a_balance_is_refused_naming_the_balance(client, lots, draft):
    sign_in(client, "tina")
    response = client.post(
        f"/batches/{draft}/components", data={"barcode": lots["api"], "quantity_mg": "151.6"}
    )
    assert response.status_code == 400
    assert field_error(text(response), "balance") == "Choose the balance you weigh on."
