"""Results on the batch page: entered and judged at once, investigated and signed, imported from a CSV."""

import html
import io
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.extensions import db
from qa_app.models import Investigation, Result
from tests.api.test_results_api import FAQ_SET, VECTOR_A
from tests.conftest import PASSWORD
from tests.services.test_results import (
    STAGE_TWO_ONE_UNIT_LOW,
    STAGE_TWO_PASSING,
    quarantined_batch,
    record,
    shared_database_app,
    status,
)
from tests.web.pages import element_ids, field_error, input_value, messages, sign_in, text

LAB_CAUSE = "Standard prepared at the wrong dilution"
HEADER = "lot_number,test,value,replicate,method,analyst,tested_at"


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("result-pages-instance")))


@pytest.fixture
def lot(shared_app) -> str:
    """A fresh batch in quarantine."""
    with shared_app.app_context():
        return quarantined_batch()


@pytest.fixture
def client(shared_app):
    return shared_app.test_client()


def as_user(client, username: str):
    assert sign_in(client, username).status_code == 302
    return client


def in_app(app: Flask, action, *args, **kwargs):
    with app.app_context():
        return action(*args, **kwargs)


def words(fragment: str) -> str:
    """What a person reads: the tags gone, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def results_section(page: str) -> str:
    match = re.search(r'<section aria-labelledby="results">(.*?)</section>', page, re.S)
    return words(match.group(1)) if match else ""


def grid_labels(page: str, test: str = "content_uniformity") -> list[tuple[str, str]]:
    """(label, input name) of each cell of a content-uniformity grid, in page order."""
    return re.findall(rf'<label>(\d+) <input[^>]*name="(r-{test}-values-\d+)"', page)


def post_result(client, lot: str, test: str, value=None, values=None, **fields):
    prefix = f"r-{test}"
    data = {f"{prefix}-{name}": v for name, v in fields.items()}
    if values is not None:
        data.update({f"{prefix}-values-{i}": str(v) for i, v in enumerate(values)})
    else:
        data[f"{prefix}-value"] = str(value)
    return client.post(f"/batches/{lot}/results/{test}", data=data, follow_redirects=True)


# --- entering results -------------------------------------------------------------------------


def test_an_assay_entered_on_the_page_is_judged_at_once(client, lot):
    page = text(post_result(as_user(client, "tina"), lot, "assay", "99.8", analyst="J. Lab"))
    assert messages(page) == ["assay: Assay 99.8 % LC is within 90.0–110.0 % LC"]
    shown = results_section(page)
    assert "PASS" in shown
    assert "99.8 → reported 99.8 % LC" in shown
    assert "analyst J. Lab" in shown


def test_content_uniformity_is_entered_in_the_ten_cells(client, lot):
    page = text(as_user(client, "tina").get(f"/batches/{lot}"))
    assert [label for label, _name in grid_labels(page)] == [str(n) for n in range(1, 11)]
    assert "Stage 1: 10 units" in results_section(page)
    page = text(post_result(client, lot, "content_uniformity", values=VECTOR_A))
    shown = results_section(page)
    assert "AV = 3.4" in shown
    assert "PASS" in shown
    assert "X̄ = 99.92, s = 1.42, M = 99.92" in shown


def test_after_the_faq_set_the_page_asks_for_stage_two_from_unit_eleven(client, lot):
    page = text(post_result(as_user(client, "tina"), lot, "content_uniformity", values=FAQ_SET))
    assert messages(page) == [
        "content_uniformity: AV 16.4 exceeds L1 15.0 at stage 1: assay 20 more units (stage 2)"
    ]
    shown = results_section(page)
    assert "STAGE 2 NEEDED" in shown
    assert "AV = 16.4" in shown
    assert "Stage 2: 20 more units" in shown
    assert grid_labels(page)[0] == ("11", "r-content_uniformity-values-0")


def test_the_stage_two_grid_has_twenty_cells_numbered_eleven_to_thirty(client, lot):
    page = text(post_result(as_user(client, "tina"), lot, "content_uniformity", values=FAQ_SET))
    labels = grid_labels(page)
    assert [label for label, _name in labels] == [str(n) for n in range(11, 31)]
    assert labels[-1][1] == "r-content_uniformity-values-19"


def test_stage_two_entered_on_the_page_is_judged_on_thirty_units(client, lot):
    as_user(client, "tina")
    post_result(client, lot, "content_uniformity", values=FAQ_SET)
    page = text(post_result(client, lot, "content_uniformity", values=STAGE_TWO_PASSING))
    shown = results_section(page)
    assert "stage 2, n = 30" in shown
    assert "AV = 8.4" in shown
    assert "units must lie within 76.125–126.875" in shown
    assert "Stage 1: 10 units" in shown  # the next set starts again at stage 1


def test_a_cell_that_is_not_a_number_is_named_beside_the_grid_and_nothing_is_lost(client, lot):
    typed = [str(v) for v in VECTOR_A]
    typed[3] = "l00.4"
    response = post_result(as_user(client, "tina"), lot, "content_uniformity", values=typed)
    assert response.status_code == 400
    page = text(response)
    grid = re.search(r'<fieldset class="cu-grid"[^>]*>(.*?)</fieldset>', page, re.S).group(1)
    assert 'Unit 4: "l00.4" is not a number.' in words(grid)
    assert [input_value(page, f"r-content_uniformity-values-{i}") for i in range(10)] == typed
    assert "No result yet." in results_section(page)


def test_a_failing_assay_shows_fail_and_why_the_batch_is_held(client, lot, shared_app):
    response = post_result(as_user(client, "tina"), lot, "assay", "89.94")
    page = text(response)
    assert messages(page) == ["assay: Assay 89.9 % LC is below the lower limit 90.0 % LC"]
    shown = results_section(page)
    assert "FAIL" in shown
    assert "On hold:" in shown
    assert "Open an investigation." in shown
    assert in_app(shared_app, status, lot) == "on_hold"


def test_a_wrong_value_for_a_range_test_is_shown_beside_the_field(client, lot):
    response = post_result(as_user(client, "tina"), lot, "assay", "ninety")
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, "r-assay-value") == "Give the result as a number."
    assert input_value(page, "r-assay-value") == "ninety"


# --- investigations on the page ---------------------------------------------------------------


def open_and_find(client, shared_app, lot: str, result_id: int, retests: str = "1") -> tuple[str, int]:
    response = client.post(
        f"/batches/{lot}/investigations/{result_id}",
        data={f"inv-{result_id}-retests_allowed": retests},
        follow_redirects=True,
    )
    with shared_app.app_context():
        investigation = db.session.scalar(
            sa.select(Investigation.id).where(Investigation.result_id == result_id)
        )
    return text(response), investigation


def close_form(investigation: int, password: str = PASSWORD, **changes) -> dict[str, str]:
    fields = {
        "phase": "I",
        "assignable_cause": "laboratory",
        "cause": LAB_CAUSE,
        "conclusion": "Original result invalid; retest passed",
        "sig_username": "rob",
        "sig_password": password,
        **changes,
    }
    return {f"close-{investigation}-{name}": value for name, value in fields.items()}


def test_a_reviewer_invalidates_a_result_with_a_laboratory_cause(client, lot, shared_app):
    failed = in_app(shared_app, lambda: record(lot, "assay", 85.0).id)
    as_user(client, "rob")
    page, investigation = open_and_find(client, shared_app, lot, failed)
    assert messages(page) == ["Investigation opened (phase I)."]
    assert f"close-{investigation}" in element_ids(page)
    assert f"OOS investigation {investigation} on assay is open (phase I)." in results_section(page)

    response = client.post(
        f"/batches/{lot}/investigations/{investigation}/close",
        data=close_form(investigation),
        follow_redirects=True,
    )
    page = text(response)
    assert messages(page) == ["Investigation closed and signed."]
    shown = results_section(page)
    assert "INVALID" in shown
    assert f"invalidated: Laboratory cause: {LAB_CAUSE} (investigation {investigation})" in shown
    assert "original result invalidated" in words(page)
    assert in_app(shared_app, status, lot) == "quarantine"


def test_a_wrong_signing_password_is_named_and_the_typed_conclusion_kept(client, lot, shared_app):
    failed = in_app(shared_app, lambda: record(lot, "assay", 85.0).id)
    as_user(client, "rob")
    _page, investigation = open_and_find(client, shared_app, lot, failed)
    response = client.post(
        f"/batches/{lot}/investigations/{investigation}/close",
        data=close_form(investigation, password="not-my-password"),
    )
    assert response.status_code == 401
    page = text(response)
    assert field_error(page, f"close-{investigation}-sig_password") == (
        "Wrong password; enter your own password again."
    )
    assert "Original result invalid; retest passed" in page
    assert f"OOS investigation {investigation} on assay is open (phase I)." in results_section(page)


def test_phase_one_without_a_laboratory_cause_is_sent_on_to_phase_two(client, lot, shared_app):
    failed = in_app(shared_app, lambda: record(lot, "assay", 85.0).id)
    sibling = in_app(shared_app, quarantined_batch)
    as_user(client, "rob")
    _page, investigation = open_and_find(client, shared_app, lot, failed)
    response = client.post(
        f"/batches/{lot}/investigations/{investigation}/close",
        data=close_form(investigation, assignable_cause="none", cause=""),
    )
    assert response.status_code == 409
    page = text(response)
    assert field_error(page, f"close-{investigation}-phase") == "Continue as phase II."
    assert f"OOS investigation {investigation} on assay is open (phase II)." in results_section(page)
    assert "Other batches sharing the API lot or formula version" in page
    assert f"{sibling} (in quarantine; shares API lot and formula version)" in words(page)


def test_an_investigation_is_closed_only_on_its_own_batch_page(client, lot, shared_app):
    failed = in_app(shared_app, lambda: record(lot, "assay", 85.0).id)
    other = in_app(shared_app, quarantined_batch)
    as_user(client, "rob")
    _page, investigation = open_and_find(client, shared_app, lot, failed)
    response = client.post(
        f"/batches/{other}/investigations/{investigation}/close", data=close_form(investigation)
    )
    assert response.status_code == 404
    assert in_app(shared_app, status, lot) == "on_hold"


def test_a_technician_records_results_but_opens_no_investigation(client, lot, shared_app):
    failed = in_app(shared_app, lambda: record(lot, "assay", 85.0).id)
    page = text(as_user(client, "tina").get(f"/batches/{lot}"))
    assert f"open-{failed}" not in element_ids(page)
    assert "result-assay" in element_ids(page)
    response = client.post(
        f"/batches/{lot}/investigations/{failed}", data={f"inv-{failed}-retests_allowed": "1"}
    )
    assert response.status_code == 403


def test_the_inspector_sees_the_results_but_no_forms(client, lot, shared_app):
    in_app(shared_app, lambda: record(lot, "assay", 99.8))
    failed = in_app(shared_app, lambda: record(lot, "appearance", "Cracked").id)
    page = text(as_user(client, "ivan").get(f"/batches/{lot}"))
    shown = results_section(page)
    assert "99.8 → reported 99.8 % LC" in shown
    assert "“Cracked”" in shown
    assert "FAIL" in shown
    forms = [i for i in element_ids(page) if i.startswith(("result-", "open-", "close-"))]
    assert forms == []
    assert post_result(client, lot, "assay", "100.0").status_code == 403
    assert client.post(f"/batches/{lot}/investigations/{failed}", data={}).status_code == 403


# --- importing --------------------------------------------------------------------------------


def upload(client, content: bytes):
    return client.post(
        "/batches/import-results",
        data={"file": (io.BytesIO(content), "results.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_a_good_csv_uploaded_on_the_import_page_is_recorded(client, lot, shared_app):
    page = text(as_user(client, "tina").get("/batches/import-results"))
    assert HEADER in page
    content = f"{HEADER}\n{lot},assay,100.2,1,HPLC,J. Lab,2026-11-20T10:00:00Z\n".encode()
    response = upload(client, content)
    assert response.status_code == 200
    assert messages(text(response)) == [f"Imported 1 result(s) from 1 row(s) for {lot}."]
    record_page = text(client.get(f"/batches/{lot}"))
    assert "100.2 → reported 100.2 % LC" in results_section(record_page)
    assert "imported · analyst J. Lab" in results_section(record_page)


def test_a_pasted_csv_is_recorded_too(client, lot):
    pasted = f"{HEADER}\n{lot},appearance,Conforms,1,Visual,J. Lab,\n"
    response = as_user(client, "tina").post(
        "/batches/import-results", data={"text": pasted}, follow_redirects=True
    )
    assert messages(text(response)) == [f"Imported 1 result(s) from 1 row(s) for {lot}."]


def test_a_bad_csv_is_refused_with_a_table_of_the_rows_to_fix(client, lot, shared_app):
    content = (
        f"{HEADER}\n{lot},assay,100.2,1,HPLC,J. Lab,\n{lot},assay,abc,1,HPLC,J. Lab,\n"
        "LDN-000000-999,assay,99.0,1,HPLC,J. Lab,2026-11-20T10:00:00\n"
    ).encode()
    response = upload(as_user(client, "tina"), content)
    assert response.status_code == 400
    page = text(response)
    assert messages(page) == ["Nothing was imported: 2 row(s) need fixing."]
    table = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    rows = [
        [words(cell) for cell in re.findall(r"<td>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]
    assert rows == [
        ["3", f"assay of {lot} takes one row; row 2 has it already."],
        ["4", "No batch with lot number LDN-000000-999."],
    ]
    assert "No result yet." in results_section(text(client.get(f"/batches/{lot}")))


# --- no result outside the plan (domain.md §5) ------------------------------------------------


def test_a_retest_before_an_investigation_is_refused_on_the_page(client, lot, shared_app):
    as_user(client, "tina")
    post_result(client, lot, "assay", "80.0")
    failed = in_app(shared_app, lambda: db.session.scalar(sa.select(sa.func.max(Result.id))))
    response = post_result(client, lot, "assay", "99.0")
    assert response.status_code == 409
    page = text(response)
    assert messages(page) == [
        f"Assay result {failed} of {lot} is out of specification and no investigation covers it: "
        "open an investigation first."
    ]
    assert field_error(page, "r-assay-value") == f"Open an investigation on result {failed} first."
    assert input_value(page, "r-assay-value") == "99.0"  # kept as typed
    shown = results_section(page)
    assert "80.0 → reported 80.0 % LC" in shown
    assert "99.0 → reported" not in shown


def test_after_a_laboratory_cause_the_page_takes_one_replacement(client, lot, shared_app):
    failed = in_app(shared_app, lambda: record(lot, "assay", 80.0).id)
    as_user(client, "rob")
    _page, investigation = open_and_find(client, shared_app, lot, failed, retests="0")
    refused = post_result(client, lot, "assay", "99.0")
    assert refused.status_code == 409
    assert messages(text(refused)) == [
        f"Investigation {investigation} allows 0 retest(s) of assay, fixed when it opened; 0 already recorded."
    ]
    closed = client.post(
        f"/batches/{lot}/investigations/{investigation}/close",
        data=close_form(investigation),
        follow_redirects=True,
    )
    assert messages(text(closed)) == ["Investigation closed and signed."]
    page = text(post_result(client, lot, "assay", "99.0"))
    assert messages(page) == ["assay: Assay 99.0 % LC is within 90.0–110.0 % LC"]
    again = post_result(client, lot, "assay", "99.1")
    assert again.status_code == 409
    page = text(again)
    assert messages(page) == [
        f"Investigation {investigation} has no assay result left: 0 retest(s) were fixed when it opened, "
        f"and after its laboratory cause one result replaces invalidated result {failed}; 1 already recorded."
    ]
    assert (
        field_error(page, "r-assay-value") == "No retest or replacement left under the investigation's plan."
    )


def test_a_failed_content_uniformity_set_takes_no_new_grid_until_investigated(client, lot, shared_app):
    as_user(client, "tina")
    post_result(client, lot, "content_uniformity", values=FAQ_SET)
    post_result(client, lot, "content_uniformity", values=STAGE_TWO_ONE_UNIT_LOW)
    failed = in_app(shared_app, lambda: db.session.scalar(sa.select(sa.func.max(Result.id))))
    response = post_result(client, lot, "content_uniformity", values=VECTOR_A)
    assert response.status_code == 409
    page = text(response)
    grid = re.search(r'<fieldset class="cu-grid"[^>]*>(.*?)</fieldset>', page, re.S).group(1)
    assert f"Open an investigation on result {failed} first." in words(grid)
    assert [input_value(page, f"r-content_uniformity-values-{i}") for i in range(10)] == [
        str(v) for v in VECTOR_A
    ]
    assert "AV = 3.4" not in results_section(page)


def test_the_import_page_names_the_row_that_waits_for_an_investigation(client, lot, shared_app):
    failed = in_app(shared_app, lambda: record(lot, "assay", 80.0).id)
    content = f"{HEADER}\n{lot},assay,99.0,1,HPLC,J. Lab,2026-11-20T10:00:00Z\n".encode()
    response = upload(as_user(client, "tina"), content)
    assert response.status_code == 400
    page = text(response)
    assert messages(page) == ["Nothing was imported: 1 row(s) need fixing."]
    table = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    cells = [words(cell) for cell in re.findall(r"<td>(.*?)</td>", table, re.S)]
    assert cells == [
        "2",
        f"{lot} assay: Assay result {failed} of {lot} is out of specification and no investigation "
        f"covers it: open an investigation first. Open an investigation on result {failed} first.",
    ]


@pytest.mark.parametrize(
    ("cell", "error"),
    [
        ("100,4", 'Unit 3: "100,4" is not one number; use a point for decimals.'),
        ("100.4 99.8", 'Unit 3: "100.4 99.8" is not one number; give one number per unit.'),
    ],
)
def test_a_cell_that_is_not_one_number_is_named_never_split(client, lot, cell, error):
    typed = [str(v) for v in VECTOR_A]
    typed[2] = cell
    response = post_result(as_user(client, "tina"), lot, "content_uniformity", values=typed)
    assert response.status_code == 400
    grid = re.search(r'<fieldset class="cu-grid"[^>]*>(.*?)</fieldset>', text(response), re.S).group(1)
    assert error in words(grid)
    assert "No result yet." in results_section(text(response))


def test_too_few_values_say_how_many_were_given_and_needed(client, lot):
    response = post_result(as_user(client, "tina"), lot, "content_uniformity", values=VECTOR_A[:9])
    assert response.status_code == 400
    grid = re.search(r'<fieldset class="cu-grid"[^>]*>(.*?)</fieldset>', text(response), re.S).group(1)
    assert "Give exactly 10 values, one per unit: 9 given, 10 needed." in words(grid)
