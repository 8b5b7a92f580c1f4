"""The batch pages: a new batch, the compounding record step by step, the list, the label, the scan check."""

import html
import re
from collections import Counter
from datetime import datetime, time, timedelta

import pytest

from qa_app.services import batches, clock, storage
from tests.builders import setup_master_data, signature, user
from tests.conftest import PASSWORD
from tests.web.pages import element_ids, field_error, input_value, messages, sign_in, text

CAPSULES = {"formula": "LDN-CAP", "strength_mg": "1.5", "quantity": "100"}
LIQUID = {"formula": "LDN-LIQ", "quantity": "100", "concentration": "1.0", "dose_amount": "4.5"}
PASSING_WEIGHTS = "\n".join(["224", "226"] * 5)
FAILING_WEIGHTS = "\n".join(["225"] * 9 + ["200"])


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    """The master data: approved lots (barcodes by name), both formulas, SHELF-1 and FRIDGE-1."""
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def draft(app, lots) -> str:
    """A draft of 100 capsules of 1.5 mg opened by tina; its lot number."""
    with app.app_context():
        return batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number


@pytest.fixture
def tina(client, users):
    sign_in(client, "tina")
    return client


# --- reading the pages ------------------------------------------------------------------------


def words(fragment: str) -> str:
    """What a person reads: the tags gone, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def section_html(page: str, heading_id: str) -> str:
    """The markup of the ``<section>`` labelled by the heading ``heading_id`` ("" when absent)."""
    match = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    return match.group(1) if match else ""


def section(page: str, heading_id: str) -> str:
    """The text of that section, as read."""
    return words(section_html(page, heading_id))


def table_rows(page: str, heading_id: str) -> list[list[str]]:
    """The body rows of the first table in a section, cell by cell."""
    body = re.search(r"<tbody>(.*?)</tbody>", section_html(page, heading_id), re.S)
    if not body:
        return []
    return [
        [words(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


def attributes(page: str, element_id: str) -> dict[str, str]:
    """The attributes of the element with ``element_id``."""
    tag = re.search(rf'<\w+[^>]*\bid="{re.escape(element_id)}"[^>]*>', page)
    assert tag, f"the page has no element {element_id!r}"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(0)))


def row(page: str, heading: str) -> str:
    """The cell beside a ``<th>`` of the record tables, as read."""
    match = re.search(rf"<th>{re.escape(heading)}</th><td>(.*?)</td>", page, re.S)
    assert match, f"the page has no row {heading!r}"
    return words(match.group(1))


def component_rows(page: str) -> list[list[str]]:
    return table_rows(page, "components")


def weight_check_rows(page: str) -> list[list[str]]:
    return table_rows(page, "weights-h")


def location_rows(page: str) -> list[str]:
    return [" ".join(cells) for cells in table_rows(page, "locations")]


def history_actions(page: str) -> list[str]:
    return [cells[3] for cells in table_rows(page, "history")]


def status_of(page: str) -> str:
    return words(re.search(r'<h1>.*?<span class="status[^"]*">(.*?)</span>', page, re.S).group(1))


def selected(page: str, name: str) -> str | None:
    """The value of the selected option of the select called ``name``."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    for option in re.findall(r"<option[^>]*>", select.group(1)):
        if re.search(r"\sselected\b", option):
            return re.search(r'value="([^"]*)"', option).group(1)
    return None


def verified(page: str) -> str:
    """What the record says after "API weighing verified:"."""
    return words(re.search(r"<p>API weighing verified: (.*?)</p>", page, re.S).group(1))


def listed(page: str) -> list[str]:
    """The lot numbers in the batch list, top to bottom."""
    return re.findall(r'<td><a href="/batches/(LDN-[0-9-]+)">', page)


def today(app):
    with app.app_context():
        return clock.today()


# --- a batch made through the services, up to the step a test is about ------------------------


def record_api(app, lot: str, barcode: str, quantity_mg: float = 151.6) -> None:
    with app.app_context():
        batches.record_component(user("tina"), lot, barcode=barcode, quantity_mg=quantity_mg, balance="XS205")


def ready_to_complete(app, lot: str, lots: dict[str, str]) -> None:
    """Every component recorded, the weighing verified by rob, a passing capsule weight check."""
    with app.app_context():
        tina = user("tina")
        batches.record_component(tina, lot, barcode=lots["api"], quantity_mg=151.6, balance="XS205")
        batches.record_component(tina, lot, barcode=lots["mcc"], quantity_mg=22348.0, balance="XS205")
        batches.record_component(tina, lot, barcode=lots["caps"], count=100)
        batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
        batches.record_weight_check(tina, lot, [224.0, 226.0] * 5)


def completed(app, lot: str, lots: dict[str, str]) -> None:
    ready_to_complete(app, lot, lots)
    with app.app_context():
        batches.complete(user("tina"), lot, actual_yield=98, storage_unit="SHELF-1")


# --- a new batch ------------------------------------------------------------------------------


def test_a_new_capsule_batch_opens_its_record_with_what_to_weigh(app, tina, lots):
    response = tina.post("/batches/new", data=CAPSULES)
    lot = f"LDN-{today(app):%y%m%d}-001"
    assert response.status_code == 302
    assert response.headers["Location"] == f"/batches/{lot}"
    page = text(tina.get(response.headers["Location"]))
    assert messages(page) == [f"Batch {lot} opened. Weigh 151.52 mg of API."]
    assert status_of(page) == "Draft"
    assert row(page, "API to weigh") == "151.52 mg"
    assert row(page, "Filler to weigh") == "22348.48 mg"
    assert row(page, "Worked out").startswith("100 capsules × 1.5 mg × 100 / 99.0 %")
    assert row(page, "API lot assumed") == f"{lots['api']} (assay 99.0 % as is)"


def test_the_new_batch_carries_its_beyond_use_date_and_the_reason(app, tina, lots):
    response = tina.post("/batches/new", data=CAPSULES, follow_redirects=True)
    bud = today(app) + timedelta(days=179)
    assert row(text(response), "Beyond-use date") == f"{bud} — 180 days, USP <795> nonaqueous (other)"


def test_the_new_batch_form_lists_only_approved_formulas(tina, lots):
    page = text(tina.get("/batches/new"))
    options = re.findall(r'<option value="([^"]*)"', page)
    assert options == ["", "LDN-CAP", "LDN-LIQ"]


BAD_NEW_BATCH = [
    pytest.param(
        {"strength_mg": "4.6"},
        "strength_mg",
        "Strength must be between 0.5 and 4.5 mg per dose (LDN); got 4.6",
        id="strength above 4.5 mg",
    ),
    pytest.param(
        {"strength_mg": "0.4"},
        "strength_mg",
        "Strength must be between 0.5 and 4.5 mg per dose (LDN); got 0.4",
        id="strength below 0.5 mg",
    ),
    pytest.param(
        {"strength_mg": "abc"},
        "strength_mg",
        "'abc' is not a number: use the digits 0-9 and a point, e.g. 12.5.",
        id="strength not a number",
    ),
    pytest.param(
        {"quantity": "-5"},
        "quantity",
        "Quantity must be more than 0 capsules; got -5",
        id="negative quantity",
    ),
    pytest.param(
        {"api_lot": "NOPE"}, "api_lot", "No such lot; scan the lot's barcode again.", id="unknown API lot"
    ),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_NEW_BATCH)
def test_bad_input_on_the_new_form_is_marked_beside_its_field(tina, lots, changes, field, message):
    response = tina.post("/batches/new", data=CAPSULES | changes)
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, field) == message
    assert attributes(page, field)["aria-invalid"] == "true"
    assert attributes(page, field)["aria-describedby"] == f"{field}-error"


@pytest.mark.parametrize(("changes", "field", "message"), BAD_NEW_BATCH)
def test_bad_input_on_the_new_form_keeps_what_was_typed(tina, lots, changes, field, message):
    page = text(tina.post("/batches/new", data=CAPSULES | changes))
    typed = CAPSULES | changes
    assert selected(page, "formula") == "LDN-CAP"
    for name in ("strength_mg", "quantity", "api_lot"):
        assert input_value(page, name) == typed.get(name, "")


@pytest.mark.parametrize(("changes", "field", "message"), BAD_NEW_BATCH)
def test_bad_input_on_the_new_form_opens_no_batch(tina, lots, changes, field, message):
    tina.post("/batches/new", data=CAPSULES | changes)
    page = text(tina.get("/batches/"))
    assert listed(page) == []
    assert "No batch matches these filters." in page


def test_a_liquid_batch_is_dosed_by_concentration_and_volume(app, tina, lots):
    response = tina.post("/batches/new", data=LIQUID, follow_redirects=True)
    page = text(response)
    assert messages(page) == [f"Batch LDN-{today(app):%y%m%d}-001 opened. Weigh 101.01 mg of API."]
    assert row(page, "Strength") == "4.5 mg per dose (1 mg/mL × 4.5 mL)"
    assert row(page, "Quantity (theoretical yield)") == "100 mL"
    assert row(page, "Worked out").startswith("100 mL × 1 mg/mL × 100 / 99.0 %")
    assert row(page, "Beyond-use date").startswith(f"{today(app) + timedelta(days=59)} — 60 days (Fawcett")


def test_a_liquid_dose_above_the_range_is_refused_naming_the_range(tina, lots):
    response = tina.post("/batches/new", data=LIQUID | {"dose_amount": "5"})
    page = text(response)
    assert response.status_code == 400
    assert "must be between 0.5 and 4.5 mg per dose (LDN); got 5.0" in words(page)
    assert input_value(page, "concentration") == "1.0"
    assert input_value(page, "dose_amount") == "5"
    assert listed(text(tina.get("/batches/"))) == []


def test_a_liquid_dose_above_the_range_is_marked_beside_the_dose_field(tina, lots):
    page = text(tina.post("/batches/new", data=LIQUID | {"dose_amount": "5"}))
    assert "between 0.5 and 4.5 mg per dose" in (field_error(page, "dose_amount") or "")


# --- components -------------------------------------------------------------------------------


def test_a_scanned_api_lot_is_recorded_with_its_deviation(tina, lots, draft):
    response = tina.post(
        f"/batches/{draft}/components",
        data={"barcode": f"\x1d{lots['api']}\r\n", "quantity_mg": "151.6", "balance": "XS205"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/batches/{draft}#barcode"
    page = text(tina.get(f"/batches/{draft}"))
    assert messages(page) == ["Component recorded."]
    [api] = component_rows(page)
    assert api[:3] == ["NTX-HCL", "api", lots["api"]]
    # judged against the unrounded 151.5152 mg: +0.056 %, reported +0.06 %
    assert api[5:9] == ["151.6 mg", "151.52 mg", "+0.06 % within", "XS205"]


def test_a_lot_of_a_material_the_formula_does_not_use_is_refused_beside_the_barcode(tina, lots, draft):
    response = tina.post(
        f"/batches/{draft}/components",
        data={"barcode": lots["syrup"], "quantity_mg": "151.6", "balance": "XS205"},
    )
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, "barcode") == "Wrong material: SYRUP; this formula uses NTX-HCL, MCC, CAP-3."
    assert input_value(page, "barcode") == lots["syrup"]
    assert input_value(page, "quantity_mg") == "151.6"
    assert component_rows(page)[0][0].startswith("Nothing recorded yet.")


def test_an_api_weighing_outside_the_tolerance_asks_for_a_reason(tina, lots, draft):
    response = tina.post(
        f"/batches/{draft}/components",
        data={"barcode": lots["api"], "quantity_mg": "155.0", "balance": "XS205"},
    )
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, "deviation_reason") == (
        "Required outside the weighing tolerance: say why, or weigh again."
    )
    assert input_value(page, "quantity_mg") == "155.0"
    assert component_rows(text(tina.get(f"/batches/{draft}")))[0][0].startswith("Nothing recorded yet.")


def test_an_api_weighing_outside_the_tolerance_is_recorded_with_its_reason(tina, lots, draft):
    tina.post(
        f"/batches/{draft}/components",
        data={
            "barcode": lots["api"],
            "quantity_mg": "155.0",
            "deviation_reason": "spill recovered",
            "balance": "XS205",
        },
    )
    [api] = component_rows(text(tina.get(f"/batches/{draft}")))
    assert api[7] == "+2.30 % DEVIATION — spill recovered"


def test_the_same_lot_twice_is_refused(app, tina, lots, draft):
    record_api(app, draft, lots["api"])
    response = tina.post(
        f"/batches/{draft}/components",
        data={"barcode": lots["api"], "quantity_mg": "151.6", "balance": "XS205"},
    )
    page = text(response)
    assert response.status_code == 409
    assert field_error(page, "barcode") == "Recorded already."
    assert len(component_rows(page)) == 1


def test_capsule_shells_are_counted(tina, lots, draft):
    response = tina.post(f"/batches/{draft}/components", data={"barcode": lots["caps"], "count": "100"})
    assert response.status_code == 302
    [shells] = component_rows(text(tina.get(f"/batches/{draft}")))
    assert shells[:3] == ["CAP-3", "container", lots["caps"]]
    assert shells[5] == "100 units"


def test_capsule_shells_given_a_weight_are_asked_for_a_count(tina, lots, draft):
    response = tina.post(
        f"/batches/{draft}/components",
        data={"barcode": lots["caps"], "quantity_mg": "50", "balance": "XS205"},
    )
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, "count") == "Give the number of containers used."
    assert input_value(page, "quantity_mg") == "50"


# --- verification of the API weighing ---------------------------------------------------------


def test_the_compounder_cannot_verify_her_own_weighing(app, tina, lots, draft):
    record_api(app, draft, lots["api"])
    response = tina.post(f"/batches/{draft}/verify", data={"sig_username": "tina", "sig_password": PASSWORD})
    page = text(response)
    assert response.status_code == 403
    assert "The verifier must be another person than the one who compounded or weighed." in messages(page)
    assert verified(page) == "not yet"


def test_a_second_person_verifies_the_weighing_with_the_signature(app, client, lots, draft):
    record_api(app, draft, lots["api"])
    sign_in(client, "rob")
    response = client.post(f"/batches/{draft}/verify", data={"sig_username": "rob", "sig_password": PASSWORD})
    assert response.status_code == 302
    page = text(client.get(f"/batches/{draft}"))
    assert messages(page) == ["API weighing verified and signed."]
    assert verified(page).startswith("yes, by Rob Reviewer, PharmD at ")
    assert section(page, "signatures").startswith("Signatures verified by Rob Reviewer, PharmD at ")


def test_the_signing_form_says_what_is_verified(app, client, lots, draft):
    record_api(app, draft, lots["api"])
    sign_in(client, "rob")
    page = words(text(client.get(f"/batches/{draft}")))
    assert (
        f"You are signing: the API weighing of batch {draft}: 151.6 mg of lot {lots['api']} "
        "against 151.52 mg calculated (+0.06 %)."
    ) in page


def test_a_wrong_password_verifies_nothing(app, client, lots, draft):
    record_api(app, draft, lots["api"])
    sign_in(client, "rob")
    response = client.post(
        f"/batches/{draft}/verify", data={"sig_username": "rob", "sig_password": "not-the-password"}
    )
    page = text(response)
    assert response.status_code == 401
    assert field_error(page, "sig_password") == "Wrong password; enter your own password again."
    assert input_value(page, "sig_username") == "rob"
    assert input_value(page, "sig_password") == ""
    page = text(client.get(f"/batches/{draft}"))
    assert verified(page) == "not yet"
    assert section(page, "signatures") == "Signatures None yet."


# --- the capsule weight check -----------------------------------------------------------------


def test_a_passing_weight_check_is_shown_with_its_numbers(tina, lots, draft):
    response = tina.post(f"/batches/{draft}/weight-check", data={"weights": PASSING_WEIGHTS})
    assert response.status_code == 302
    page = text(tina.get(f"/batches/{draft}"))
    assert messages(page) == [
        "Capsule weight check passed: All 10 capsules lie within 202.5–247.5 mg (90–110 % of 225 mg)"
    ]
    [check] = weight_check_rows(page)
    assert check[1] == "10"
    assert check[6:] == ["none", "PASS"]


def test_a_passing_weight_check_shows_mean_sd_rsd_and_range(tina, lots, draft):
    tina.post(f"/batches/{draft}/weight-check", data={"weights": PASSING_WEIGHTS})
    [check] = weight_check_rows(text(tina.get(f"/batches/{draft}")))
    assert check[2:5] == ["225.00", "1.054", "0.47"]
    assert re.fullmatch(r"224(\.0+)?–226(\.0+)?", check[5])


def test_a_failing_weight_check_stays_on_the_record_marked_fail(tina, lots, draft):
    response = tina.post(f"/batches/{draft}/weight-check", data={"weights": FAILING_WEIGHTS})
    assert response.status_code == 302
    page = text(tina.get(f"/batches/{draft}"))
    assert messages(page) == [
        "Capsule weight check FAILED: Capsule 10 (200 mg, 88.89 %) outside 202.5–247.5 mg (90–110 % of 225 mg)"
    ]
    [check] = weight_check_rows(page)
    assert check[6:] == ["10", "FAIL"]
    assert "the last capsule weight check failed; record a passing one" in section(page, "complete-h")


def test_nine_capsule_weights_are_refused(tina, lots, draft):
    nine = "\n".join(["225"] * 9)
    response = tina.post(f"/batches/{draft}/weight-check", data={"weights": nine})
    page = text(response)
    assert response.status_code == 400
    assert "weigh at least 10 capsules individually; got 9" in words(page)
    assert weight_check_rows(page) == []


def test_nine_capsule_weights_are_marked_beside_the_weights_field(tina, lots, draft):
    nine = "\n".join(["225"] * 9)
    page = text(tina.post(f"/batches/{draft}/weight-check", data={"weights": nine}))
    assert field_error(page, "weights") == "weigh at least 10 capsules individually; got 9"


def test_a_weight_that_is_not_a_number_is_marked_beside_the_weights_field(tina, lots, draft):
    response = tina.post(f"/batches/{draft}/weight-check", data={"weights": "225\n22x5\n" * 5})
    assert response.status_code == 400
    assert field_error(text(response), "weights") == 'Line 2: "22x5" is not a number.'


# --- completion, discarding, moving -----------------------------------------------------------


def test_completion_lists_what_is_missing(tina, lots, draft):
    response = tina.post(f"/batches/{draft}/complete", data={"actual_yield": "98", "storage_unit": "SHELF-1"})
    page = text(response)
    assert response.status_code == 409
    assert (
        f"{draft} is not ready to complete: record the api NTX-HCL; record the filler MCC; "
        "record the container CAP-3; a second person must verify the API weighing; "
        "record the capsule weight check."
    ) in messages(page)
    assert status_of(page) == "Draft"


def test_a_complete_batch_goes_to_quarantine_on_its_shelf(app, tina, lots, draft):
    ready_to_complete(app, draft, lots)
    assert "Ready: every component is recorded" in section(text(tina.get(f"/batches/{draft}")), "complete-h")
    response = tina.post(f"/batches/{draft}/complete", data={"actual_yield": "98", "storage_unit": "SHELF-1"})
    assert response.status_code == 302
    page = text(tina.get(f"/batches/{draft}"))
    assert messages(page) == ["Batch completed: it is in quarantine until its results are in."]
    assert status_of(page) == "In quarantine"
    assert row(page, "Actual yield") == "98 capsules = 98.0 % of theoretical within 95–105 %"
    [where] = location_rows(page)
    assert where.endswith("SHELF-1 — Room shelf tina")


def test_a_yield_outside_95_to_105_percent_asks_for_the_reason(app, tina, lots, draft):
    ready_to_complete(app, draft, lots)
    response = tina.post(f"/batches/{draft}/complete", data={"actual_yield": "90", "storage_unit": "SHELF-1"})
    page = text(response)
    assert response.status_code == 400
    assert field_error(page, "complete-deviation_reason") == "Required for a yield outside 95–105 %: say why."
    assert input_value(page, "actual_yield") == "90"
    assert selected(page, "storage_unit") == "SHELF-1"
    assert status_of(page) == "Draft"


def test_a_yield_outside_the_range_is_accepted_with_its_reason(app, tina, lots, draft):
    ready_to_complete(app, draft, lots)
    tina.post(
        f"/batches/{draft}/complete",
        data={"actual_yield": "90", "storage_unit": "SHELF-1", "deviation_reason": "machine jam"},
    )
    page = text(tina.get(f"/batches/{draft}"))
    assert row(page, "Actual yield") == "90 capsules = 90.0 % of theoretical deviation — machine jam"


def test_a_draft_is_discarded_with_its_reason(tina, lots, draft):
    response = tina.post(f"/batches/{draft}/discard", data={"reason": "wrong strength ordered"})
    assert response.status_code == 302
    page = text(tina.get(f"/batches/{draft}"))
    assert messages(page) == ["Batch discarded."]
    assert status_of(page) == "Discarded"
    assert row(page, "Discarded") == "wrong strength ordered"
    assert "Record component" not in page


def test_a_discard_without_a_reason_is_refused(tina, lots, draft):
    response = tina.post(f"/batches/{draft}/discard", data={"reason": "  "})
    assert response.status_code == 400
    assert field_error(text(response), "reason") == "Give the reason."


def test_a_completed_batch_moves_to_another_room_unit(app, tina, lots, draft):
    completed(app, draft, lots)
    with app.app_context():
        storage.create_unit(user("ada"), code="SHELF-2", name="Second room shelf", condition="room")
    response = tina.post(f"/batches/{draft}/move", data={"storage_unit": "SHELF-2"})
    assert response.status_code == 302
    page = text(tina.get(f"/batches/{draft}"))
    assert messages(page) == ["Batch moved."]
    assert row(page, "Storage").endswith("now in SHELF-2 (Second room shelf)")
    rows = location_rows(page)
    assert len(rows) == 2
    assert rows[0].endswith("SHELF-1 — Room shelf tina")
    assert rows[1].endswith("SHELF-2 — Second room shelf tina")


def test_capsules_stored_at_room_temperature_are_not_moved_to_the_fridge(app, tina, lots, draft):
    completed(app, draft, lots)
    response = tina.post(f"/batches/{draft}/move", data={"storage_unit": "FRIDGE-1"})
    assert response.status_code == 400
    assert field_error(text(response), "storage_unit") == "Choose a room unit: the formula's storage is room."
    assert len(location_rows(text(tina.get(f"/batches/{draft}")))) == 1


def test_a_move_to_the_unit_it_is_in_is_refused(app, tina, lots, draft):
    completed(app, draft, lots)
    response = tina.post(f"/batches/{draft}/move", data={"storage_unit": "SHELF-1"})
    assert response.status_code == 409
    assert field_error(text(response), "storage_unit") == "Same unit."
    assert len(location_rows(text(tina.get(f"/batches/{draft}")))) == 1


def test_a_draft_is_not_moved(tina, lots, draft):
    response = tina.post(f"/batches/{draft}/move", data={"storage_unit": "FRIDGE-1"})
    assert response.status_code == 409
    assert location_rows(text(tina.get(f"/batches/{draft}"))) == []


def test_a_component_sent_from_a_stale_page_of_a_discarded_batch_is_not_recorded(app, tina, lots, draft):
    with app.app_context():
        batches.discard(user("rob"), draft, "spilled")
    response = tina.post(
        f"/batches/{draft}/components",
        data={"barcode": lots["api"], "quantity_mg": "151.6", "balance": "XS205"},
    )
    assert response.status_code == 409
    assert component_rows(text(tina.get(f"/batches/{draft}")))[0][0].startswith("Nothing recorded yet.")


def test_a_component_sent_from_a_stale_page_of_a_discarded_batch_says_why(app, tina, lots, draft):
    with app.app_context():
        batches.discard(user("rob"), draft, "spilled")
    response = tina.post(
        f"/batches/{draft}/components",
        data={"barcode": lots["api"], "quantity_mg": "151.6", "balance": "XS205"},
    )
    assert f"Batch {draft} is discarded; only a draft can be changed this way." in messages(text(response))


def test_another_api_lot_outside_the_tolerance_is_not_recorded(app, tina, lots, draft):
    response = tina.post(
        f"/batches/{draft}/components",
        data={"barcode": lots["api2"], "quantity_mg": "160", "balance": "XS205"},
    )
    assert response.status_code == 400
    assert field_error(text(response), "deviation_reason") == (
        "Required outside the weighing tolerance: say why, or weigh again."
    )
    page = text(tina.get(f"/batches/{draft}"))
    assert row(page, "API lot assumed") == f"{lots['api']} (assay 99.0 % as is)"
    assert row(page, "API to weigh") == "151.52 mg"
    assert history_actions(page) == ["Created"]


def test_the_refusal_page_shows_the_calculation_as_saved(app, tina, lots, draft):
    page = text(
        tina.post(
            f"/batches/{draft}/components",
            data={"barcode": lots["api2"], "quantity_mg": "160", "balance": "XS205"},
        )
    )
    assert row(page, "API lot assumed") == f"{lots['api']} (assay 99.0 % as is)"
    assert row(page, "API to weigh") == "151.52 mg"
    assert history_actions(page) == ["Created"]


# --- the batch list ---------------------------------------------------------------------------


@pytest.fixture
def many(app, lots) -> dict[str, str]:
    """Five batches: four today (one of them discarded), one ten days ago; lot numbers by name."""
    with app.app_context():
        tina = user("tina")
        ten_days_ago = datetime.combine(clock.today() - timedelta(days=10), time(9), tzinfo=clock.zone())
        made = {
            "old": batches.create_batch(
                tina, formula="LDN-CAP", strength_mg=1.5, quantity=100, compounded_at=ten_days_ago
            ),
            "low": batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity=100),
            "high": batches.create_batch(tina, formula="LDN-CAP", strength_mg=3.0, quantity=50),
            "liquid": batches.create_batch(
                tina, formula="LDN-LIQ", quantity=100, concentration=1.0, dose_amount=4.5
            ),
            "discarded": batches.create_batch(tina, formula="LDN-CAP", strength_mg=0.5, quantity=30),
        }
        batches.discard(tina, made["discarded"].lot_number, "spilled")
        return {name: batch.lot_number for name, batch in made.items()}


def test_the_list_shows_the_newest_first(tina, many):
    assert listed(text(tina.get("/batches/"))) == [
        many["discarded"],
        many["liquid"],
        many["high"],
        many["low"],
        many["old"],
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=draft", ["liquid", "high", "low", "old"]),
        ("status=discarded", ["discarded"]),
        ("formula=LDN-CAP", ["discarded", "high", "low", "old"]),
        ("formula=ldn-liq", ["liquid"]),
        ("strength=1.5", ["low", "old"]),
        ("strength=4.5", ["liquid"]),
        ("status=draft&formula=LDN-CAP&strength=1.5", ["low", "old"]),
    ],
)
def test_the_list_filters(tina, many, query, expected):
    assert listed(text(tina.get(f"/batches/?{query}"))) == [many[name] for name in expected]


def test_the_list_searches_by_part_of_the_lot_number(tina, many):
    part = many["old"][4:10]
    assert listed(text(tina.get(f"/batches/?q={part}"))) == [many["old"]]
    assert listed(text(tina.get("/batches/?q=-002"))) == [many["high"]]


def test_the_list_filters_by_compounding_dates(app, tina, many):
    day = today(app)
    old_day = day - timedelta(days=10)
    assert listed(text(tina.get(f"/batches/?from={old_day}&to={old_day}"))) == [many["old"]]
    assert listed(text(tina.get(f"/batches/?from={day - timedelta(days=9)}"))) == [
        many["discarded"],
        many["liquid"],
        many["high"],
        many["low"],
    ]
    assert listed(text(tina.get(f"/batches/?to={day - timedelta(days=11)}"))) == []


def test_the_filter_bar_sent_with_its_empty_boxes_filters_by_what_was_typed(tina, many):
    """The form sends every box, the empty ones as ``from=``: those filter nothing."""
    response = tina.get(f"/batches/?q={many['old']}&status=&formula=&strength=&from=&to=")
    assert response.status_code == 200
    assert listed(text(response)) == [many["old"]]


def test_the_filters_stay_in_the_form(tina, many):
    page = text(tina.get("/batches/?status=draft&formula=LDN-CAP&strength=1.5&q=LDN"))
    assert selected(page, "status") == "draft"
    assert selected(page, "formula") == "LDN-CAP"
    assert input_value(page, "strength") == "1.5"
    assert input_value(page, "q") == "LDN"


def test_the_list_pages_two_at_a_time(tina, many):
    first = text(tina.get("/batches/?per_page=2"))
    assert listed(first) == [many["discarded"], many["liquid"]]
    assert "Page 1 of 3 (5 in all)" in words(first)
    assert 'rel="next"' in first
    assert 'rel="prev"' not in first
    last = text(tina.get("/batches/?per_page=2&page=3"))
    assert listed(last) == [many["old"]]
    assert "Page 3 of 3 (5 in all)" in words(last)
    assert 'rel="next"' not in last


def test_the_next_page_keeps_the_filters(tina, many):
    first = text(tina.get("/batches/?per_page=2&status=draft"))
    href = html.unescape(re.search(r'<a href="([^"]+)" rel="next">', first).group(1))
    assert listed(text(tina.get(href))) == [many["low"], many["old"]]


def test_a_strength_that_is_not_a_number_is_refused(tina, many):
    response = tina.get("/batches/?strength=abc")
    assert response.status_code == 400
    assert messages(text(response)) == ["Strength must be a number of mg."]


# --- the label, the scan check, who sees what, the history ------------------------------------


def test_the_batch_label_is_a_pdf_marked_not_released(tina, draft):
    response = tina.get(f"/batches/{draft}/label.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert draft.encode() in response.data
    assert b"NOT RELEASED" in response.data


def scan_answer(response) -> str:
    """The answer to a scan as read (the target beside the weight field aside)."""
    return words(re.search(r'<p class="lot-check.*?</p>', text(response), re.S).group(0))


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("syrup", "Not usable: wrong material: SYRUP; this formula uses NTX-HCL, MCC, CAP-3."),
        ("api", "Usable: approved and in date."),
        ("mcc", "Usable: approved and in date."),
    ],
)
def test_a_scan_on_the_batch_page_says_whether_the_lot_fits(tina, lots, draft, name, answer):
    response = tina.get("/lots/check", query_string={"batch": draft, "barcode": lots[name]})
    assert response.status_code == 200
    assert scan_answer(response).endswith(answer)


def test_an_unknown_scan_says_so(tina, lots, draft):
    response = tina.get("/lots/check", query_string={"batch": draft, "barcode": "NOPE"})
    assert scan_answer(response) == "No such lot: NOPE."


def test_the_barcode_field_asks_the_scan_check_of_this_batch(tina, draft):
    page = text(tina.get(f"/batches/{draft}"))
    field = attributes(page, "barcode")
    assert field["hx-get"] == f"/lots/check?batch={draft}"
    assert field["hx-trigger"] == "scan, change"
    assert field["hx-target"] == "#scan-result"
    assert field["data-scan"] == "true"


def test_an_inspector_reads_the_record_without_forms(client, users, draft):
    sign_in(client, "ivan")
    page = text(client.get(f"/batches/{draft}"))
    assert f"Batch {draft}" in page
    assert row(page, "API to weigh") == "151.52 mg"
    assert "Record component" not in page
    assert '<form method="post" action="/batches/' not in page


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("components", {"barcode": "X", "quantity_mg": "151.6", "balance": "XS205"}),
        ("verify", {"sig_username": "ivan", "sig_password": PASSWORD}),
        ("weight-check", {"weights": PASSING_WEIGHTS}),
        ("complete", {"actual_yield": "98", "storage_unit": "SHELF-1"}),
        ("discard", {"reason": "no"}),
        ("move", {"storage_unit": "FRIDGE-1"}),
    ],
)
def test_an_inspector_may_not_change_a_batch(client, users, draft, path, data):
    sign_in(client, "ivan")
    assert client.post(f"/batches/{draft}/{path}", data=data).status_code == 403
    assert status_of(text(client.get(f"/batches/{draft}"))) == "Draft"


def test_an_inspector_may_not_open_a_new_batch(client, users, lots):
    sign_in(client, "ivan")
    assert client.get("/batches/new").status_code == 403
    assert "New batch" not in text(client.get("/batches/"))


def test_the_batch_page_shows_its_own_history(app, tina, lots, draft):
    record_api(app, draft, lots["api"])
    page = text(tina.get(f"/batches/{draft}"))
    assert history_actions(page) == ["Created", "Component recorded"]


def test_the_batch_history_reads_as_sentences_with_the_raw_values_behind_details(app, tina, lots, draft):
    record_api(app, draft, lots["api"])
    page = text(tina.get(f"/batches/{draft}"))
    created, component = table_rows(page, "history")
    assert created[4].startswith(
        f"Lot number: {draft} Status: draft Formula: LDN-CAP Formula version: 1 Details (6 more) Strength (mg): 1.5"
    )
    assert component[4].startswith(f"Lot: {lots['api']} Material: NTX-HCL Role: api Quantity (mg): 151.6")
    history = section_html(page, "history")
    assert history.count("<details>") == 2 and history.count("<summary>Details") == 2
    outside_details = re.sub(r"<details>.*?</details>", "", history, flags=re.S)
    assert '"strength_mg"' not in outside_details and "strength_mg" in history


def test_an_unknown_batch_is_not_found(tina, lots):
    response = tina.get("/batches/LDN-000000-999")
    assert response.status_code == 404
    assert messages(text(response)) == ["No batch with lot number 'LDN-000000-999'."]


def test_a_visitor_is_sent_to_sign_in(client, draft):
    response = client.get(f"/batches/{draft}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    "element_id",
    [
        "deviation_reason",
        "complete-deviation_reason",
        "weights",
        "barcode",
        "quantity_mg",
        "sig_password",
        "actual_yield",
    ],
)
def test_a_field_on_a_draft_page_has_its_own_id(app, tina, lots, draft, element_id):
    record_api(app, draft, lots["api"])
    ids = Counter(element_ids(text(tina.get(f"/batches/{draft}"))))
    assert ids[element_id] == 1


# --- the guided steps ------------------------------------------------------------------------


def step_bar(page: str) -> list[str]:
    """The step bar as a screen reader reads it: each step with its state."""
    bar = re.search(r'<ol class="steps">(.*?)</ol>', page, re.S).group(1)
    return [words(item) for item in re.findall(r"<li[^>]*>(.*?)</li>", bar, re.S)]


def current_step(page: str) -> str:
    return words(re.search(r'<li[^>]*aria-current="step"[^>]*>(.*?)</li>', page, re.S).group(1))


def step_line(page: str, key: str) -> str:
    """The one line a step shows when collapsed."""
    return words(re.search(rf'id="step-{key}"[^>]*>\s*<summary>(.*?)</summary>', page, re.S).group(1))


def is_open(page: str, key: str) -> bool:
    return bool(re.search(rf'<details[^>]*id="step-{key}"[^>]*\bopen\b', page))


def test_a_new_draft_starts_at_prepare(tina, lots, draft):
    page = text(tina.get(f"/batches/{draft}"))
    assert step_bar(page) == [
        "Prepare: current",
        "Weigh: to do",
        "Verify: to do",
        "Fill: to do",
        "Check: to do",
        "Complete: to do",
    ]
    assert is_open(page, "prepare") and not is_open(page, "weigh")
    assert step_line(page, "verify") == "Verify — to do"


def test_after_the_components_the_weighing_shows_what_it_recorded(app, tina, lots, draft):
    with app.app_context():
        batches.record_component(
            user("tina"), draft, barcode=lots["mcc"], quantity_mg=22348.0, balance="XS205"
        )
        batches.record_component(user("tina"), draft, barcode=lots["caps"], count=100)
    page = text(tina.get(f"/batches/{draft}"))
    assert step_bar(page)[:2] == ["Prepare: done", "Weigh: current"]
    assert step_line(page, "prepare").startswith(f"Prepare — MCC lot {lots['mcc']} 22,348.00 mg; CAP-3 lot")
    assert "by tina, " in step_line(page, "prepare")
    assert is_open(page, "weigh") and 'id="component"' in page


def test_after_the_weighing_the_verification_is_current(app, tina, lots, draft):
    with app.app_context():
        batches.record_component(
            user("tina"), draft, barcode=lots["mcc"], quantity_mg=22348.0, balance="XS205"
        )
        batches.record_component(user("tina"), draft, barcode=lots["caps"], count=100)
    record_api(app, draft, lots["api"])
    page = text(tina.get(f"/batches/{draft}"))
    assert step_bar(page)[:3] == ["Prepare: done", "Weigh: done", "Verify: current"]
    line = step_line(page, "weigh")
    assert line.startswith("Weigh — 151.60 mg on XS205 (+0.06 %), lot ")
    assert "by tina, " in line


def test_with_only_the_api_weighed_the_verification_form_waits_in_its_step(app, tina, lots, draft):
    record_api(app, draft, lots["api"])
    page = text(tina.get(f"/batches/{draft}"))
    assert step_bar(page)[:3] == ["Prepare: current", "Weigh: done", "Verify: to do"]
    assert 'id="verify"' in page


def test_after_the_verification_the_fill_and_the_check_are_open(app, tina, lots, draft):
    with app.app_context():
        tina_user = user("tina")
        batches.record_component(tina_user, draft, barcode=lots["api"], quantity_mg=151.6, balance="XS205")
        batches.record_component(tina_user, draft, barcode=lots["mcc"], quantity_mg=22348.0, balance="XS205")
        batches.record_component(tina_user, draft, barcode=lots["caps"], count=100)
        batches.verify_weighing(user("rob"), draft, signature("rob", "verified"))
    page = text(tina.get(f"/batches/{draft}"))
    assert step_bar(page) == [
        "Prepare: done",
        "Weigh: done",
        "Verify: done",
        "Fill: current",
        "Check: to do",
        "Complete: to do",
    ]
    assert step_line(page, "verify").startswith("Verify — API weighing verified by rob, ")
    assert is_open(page, "fill") and is_open(page, "check") and not is_open(page, "complete")


def test_after_the_weight_check_completion_is_current(app, tina, lots, draft):
    ready_to_complete(app, draft, lots)
    page = text(tina.get(f"/batches/{draft}"))
    assert step_bar(page)[3:] == ["Fill: done", "Check: done", "Complete: current"]
    assert step_line(page, "check").startswith("Check — passed: n = 10, mean 225.00 mg")
    assert current_step(page) == "Complete: current"


def test_a_completed_batch_shows_every_step_done_and_closed(app, tina, lots, draft):
    completed(app, draft, lots)
    page = text(tina.get(f"/batches/{draft}"))
    assert step_bar(page) == [
        "Prepare: done",
        "Weigh: done",
        "Verify: done",
        "Fill: done",
        "Check: done",
        "Complete: done",
    ]
    assert 'aria-current="step"' not in page
    assert step_line(page, "complete").startswith(
        "Complete — 98 capsules (98.0 %) to quarantine in SHELF-1 by tina, "
    )
    assert not any(is_open(page, key) for key in ("prepare", "weigh", "verify", "fill", "check", "complete"))
    assert location_rows(page)  # the rest of the record is still there


def test_the_full_record_opens_every_step(app, tina, lots, draft):
    completed(app, draft, lots)
    page = text(tina.get(f"/batches/{draft}?view=full"))
    assert all(is_open(page, key) for key in ("prepare", "weigh", "verify", "fill", "check", "complete"))
    assert "Guided steps" in page


def test_a_liquid_batch_says_the_capsule_check_is_not_needed(app, tina, lots):
    with app.app_context():
        lot = batches.create_batch(
            user("tina"), formula="LDN-LIQ", quantity=100, concentration=1.0, dose_amount=4.5
        ).lot_number
    page = text(tina.get(f"/batches/{lot}"))
    assert step_bar(page)[4] == "Check: not needed"
    assert "Check — not needed for oral liquid" in words(page)


def test_a_refused_weight_check_comes_back_open_at_its_step_with_the_error(tina, lots, draft):
    response = tina.post(f"/batches/{draft}/weight-check", data={"weights": "225\n226"})
    page = text(response)
    assert response.status_code == 400
    assert current_step(page) == "Prepare: current"
    assert is_open(page, "check")
    assert field_error(page, "weights")


def test_a_discarded_draft_says_which_steps_were_never_done(app, tina, lots, draft):
    record_api(app, draft, lots["api"])
    tina.post(f"/batches/{draft}/discard", data={"reason": "spilled"})
    page = text(tina.get(f"/batches/{draft}"))
    assert step_line(page, "weigh").startswith("Weigh — 151.60 mg on XS205")
    assert step_line(page, "verify") == "Verify — not done: the batch was discarded"
    assert 'aria-current="step"' not in page
