"""Results against the frozen specification, OOS investigations and the CSV import, via the API."""

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import MaterialLot
from qa_app.services import batches, clock
from tests.builders import setup_master_data, signature, user
from tests.conftest import PASSWORD

VECTOR_A = [98.0, 99.5, 101.2, 100.4, 97.8, 102.1, 99.9, 100.6, 98.7, 101.0]
VECTOR_B = [92.0, 95.5, 97.1, 94.8, 96.0, 93.3, 98.2, 95.0, 94.1, 96.6]
# Mean 105.9 and sample SD 5.0 (the USP <905> FAQ check): AV 16.4, stage 2 needed.
FAQ_SET = [115.9, 95.9, 108.4, 103.4, 108.4, 103.4, 105.9, 105.9, 105.9, 105.9]


def completed_batch(app) -> str:
    """A capsule batch taken through compounding into quarantine."""
    with app.app_context():
        lots = setup_master_data(clock.today())
        tina = user("tina")
        lot = batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number
        batches.record_component(tina, lot, barcode=lots["api"], quantity_mg=151.5, balance="XS205")
        batches.record_component(tina, lot, barcode=lots["mcc"], quantity_mg=22348.5, balance="XS205")
        batches.record_component(tina, lot, barcode=lots["caps"], count=100)
        batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
        batches.record_weight_check(tina, lot, [225.0] * 10)
        batches.complete(tina, lot, actual_yield=100, storage_unit="SHELF-1")
        return lot


@pytest.fixture
def lot(app, users):
    return completed_batch(app)


@pytest.fixture
def tina(auth, lot):
    return auth.token("tina")


@pytest.fixture
def rob(auth, lot):
    return auth.token("rob")


def post(client, headers, lot, **body):
    return client.post(f"/api/v1/batches/{lot}/results", json=body, headers=headers)


def status_of(client, headers, lot):
    return client.get(f"/api/v1/batches/{lot}", headers=headers).get_json()


def test_vector_a_passes_at_stage_one_with_its_numbers(client, tina, lot):
    response = post(client, tina, lot, test="content_uniformity", values=VECTOR_A)
    assert response.status_code == 201, response.get_json()
    evaluation = response.get_json()["evaluation"]
    assert (evaluation["status"], evaluation["av"], evaluation["stage"], evaluation["n"]) == (
        "pass",
        3.4,
        1,
        10,
    )
    assert evaluation["mean"] == pytest.approx(99.92)
    assert evaluation["sd"] == pytest.approx(1.41798, abs=1e-5)


def test_every_required_test_passing_moves_the_batch_to_awaiting_release(client, tina, lot):
    post(client, tina, lot, test="assay", value=99.8)
    post(client, tina, lot, test="content_uniformity", values=VECTOR_B)
    assert status_of(client, tina, lot)["status"] == "quarantine"
    post(client, tina, lot, test="appearance", value="Conforms")
    body = status_of(client, tina, lot)
    assert (body["status"], body["holds"], body["missing_tests"]) == ("awaiting_release", [], [])
    assert [r["evaluation"]["status"] for r in body["results"]] == ["pass", "pass", "pass"]


def test_the_faq_set_needs_twenty_more_units_then_is_judged_on_thirty(client, tina, lot):
    first = post(client, tina, lot, test="content_uniformity", values=FAQ_SET).get_json()
    assert (first["evaluation"]["status"], first["evaluation"]["av"]) == ("more_units_required", 16.4)
    nine = post(client, tina, lot, test="content_uniformity", values=[100.0] * 9)
    assert nine.status_code == 400
    assert nine.get_json()["error"]["fields"] == {
        "values": "Give exactly 20 values, one per unit: 9 given, 20 needed."
    }
    second = post(client, tina, lot, test="content_uniformity", values=[100.0] * 20).get_json()
    assert (second["evaluation"]["stage"], second["evaluation"]["n"], second["stage1_result_id"]) == (
        2,
        30,
        first["id"],
    )
    assert second["evaluation"]["status"] == "pass"


def test_a_failing_assay_holds_the_batch_and_a_laboratory_cause_invalidates_it(client, tina, rob, lot):
    failed = post(client, tina, lot, test="assay", value=89.94).get_json()
    assert failed["evaluation"]["status"] == "fail"
    held = status_of(client, tina, lot)
    assert held["status"] == "on_hold"
    assert [h["kind"] for h in held["holds"]] == ["oos"]
    opened = client.post(
        f"/api/v1/batches/{lot}/investigations",
        json={"result_id": failed["id"], "retests_allowed": 1},
        headers=rob,
    )
    assert opened.status_code == 201, opened.get_json()
    investigation = opened.get_json()["id"]
    assert post(client, tina, lot, test="assay", value=99.5).status_code == 201  # the one planned retest
    extra = post(client, tina, lot, test="assay", value=99.6)
    assert extra.status_code == 409
    sign = {"username": "rob", "password": PASSWORD, "meaning": "reviewed"}
    phase_one = client.post(
        f"/api/v1/investigations/{investigation}/close",
        headers=rob,
        json={"signature": sign, "phase": "I", "assignable_cause": "none", "conclusion": "No error"},
    )
    assert phase_one.status_code == 409
    closed = client.post(
        f"/api/v1/investigations/{investigation}/close",
        headers=rob,
        json={
            "signature": sign,
            "phase": "II",
            "assignable_cause": "laboratory",
            "cause": "Standard prepared at the wrong dilution",
            "conclusion": "Original result invalid",
        },
    )
    assert closed.status_code == 200, closed.get_json()
    body = status_of(client, tina, lot)
    original = next(r for r in body["results"] if r["id"] == failed["id"])
    assert (original["valid"], original["evaluation"]["status"]) == (False, "fail")
    assert body["holds"] == []
    assert body["status"] == "quarantine"


def test_a_confirmed_oos_holds_for_good_whatever_the_retests_show(client, tina, rob, lot):
    failed = post(client, tina, lot, test="assay", value=111.0).get_json()
    investigation = client.post(
        f"/api/v1/batches/{lot}/investigations",
        headers=rob,
        json={"result_id": failed["id"], "retests_allowed": 2},
    ).get_json()["id"]
    post(client, tina, lot, test="assay", value=100.0)
    sign = {"username": "rob", "password": PASSWORD, "meaning": "reviewed"}
    client.post(
        f"/api/v1/investigations/{investigation}/close",
        headers=rob,
        json={
            "signature": sign,
            "phase": "II",
            "assignable_cause": "manufacturing",
            "cause": "Blend not uniform",
            "conclusion": "OOS confirmed",
        },
    )
    for test, value in (("content_uniformity", VECTOR_A), ("appearance", "Conforms")):
        key = "values" if test == "content_uniformity" else "value"
        post(client, tina, lot, test=test, **{key: value})
    body = status_of(client, tina, lot)
    assert body["status"] == "on_hold"
    assert "can only be rejected" in body["holds"][0]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"test": "content_uniformity", "values": [100.0] * 9}, "values"),
        ({"test": "content_uniformity", "values": [100.0] * 31}, "values"),
        ({"test": "content_uniformity", "values": [100.0] * 9 + [-1.0]}, "values"),
        ({"test": "assay", "value": "abc"}, "value"),
        ({"test": "assay", "value": 1e308}, "value"),
        ({"test": "dissolution", "value": 99.0}, "test"),
    ],
)
def test_bad_results_are_refused_naming_the_field(client, tina, lot, body, field):
    response = post(client, tina, lot, **body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    assert status_of(client, tina, lot)["results"] == []


def test_a_draft_takes_no_results(client, tina, lot, app):
    draft = client.post(
        "/api/v1/batches", json={"formula": "LDN-CAP", "strength_mg": 1.5, "quantity": 10}, headers=tina
    ).get_json()["lot_number"]
    assert post(client, tina, draft, test="assay", value=100.0).status_code == 409


def csv_rows(lot, values, test="content_uniformity"):
    lines = ["lot_number,test,value,replicate,method,analyst,tested_at"]
    lines += [f"{lot},{test},{v},{i},HPLC,J. Lab,2026-11-20T10:00:00Z" for i, v in enumerate(values, start=1)]
    return "\n".join(lines) + "\n"


def test_the_csv_import_records_all_rows(client, tina, lot):
    text = csv_rows(lot, VECTOR_A) + f"{lot},assay,100.2,1,HPLC,J. Lab,2026-11-20T10:00:00Z\n"
    response = client.post("/api/v1/results/import", data=text, content_type="text/csv", headers=tina)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"results": 2, "rows": 11, "batches": [lot]}
    sources = {r["source"] for r in status_of(client, tina, lot)["results"]}
    assert sources == {"imported"}


def test_a_bad_csv_is_refused_whole_with_each_bad_row_named(client, tina, lot):
    text = csv_rows(lot, VECTOR_A[:9] + ["abc"]).replace(",10,HPLC", ",9,HPLC")
    text += "LDN-999999-999,assay,100.0,1,HPLC,J. Lab,\n"
    response = client.post("/api/v1/results/import", data=text, content_type="text/csv", headers=tina)
    assert response.status_code == 400
    rows = response.get_json()["error"]["rows"]
    assert rows == [
        {"row": 11, "message": "replicate 9 repeats row 10."},
        {"row": 12, "message": "No batch with lot number LDN-999999-999."},
    ]
    assert status_of(client, tina, lot)["results"] == []


def test_a_csv_without_the_agreed_header_is_refused(client, tina, lot):
    response = client.post(
        "/api/v1/results/import", data="lot_number,test,value\n", content_type="text/csv", headers=tina
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["rows"][0]["row"] == 1


def test_after_a_laboratory_cause_the_planned_retest_is_the_reportable_result(client, tina, rob, lot):
    """The retests were planned when the investigation opened; they count after it closes too."""
    failed = post(client, tina, lot, test="assay", value=85.0).get_json()
    investigation = client.post(
        f"/api/v1/batches/{lot}/investigations",
        headers=rob,
        json={"result_id": failed["id"], "retests_allowed": 1},
    ).get_json()["id"]
    sign = {"username": "rob", "password": PASSWORD, "meaning": "reviewed"}
    client.post(
        f"/api/v1/investigations/{investigation}/close",
        headers=rob,
        json={
            "signature": sign,
            "phase": "I",
            "assignable_cause": "laboratory",
            "cause": "Wrong reference standard lot",
            "conclusion": "Result invalid; retest as planned",
        },
    )
    retest = post(client, tina, lot, test="assay", value=99.0)
    assert retest.status_code == 201
    assert retest.get_json()["retest_of_investigation"] == investigation
    assert post(client, tina, lot, test="assay", value=99.1).status_code == 409


def test_a_warning_band_flags_a_passing_result_near_its_limit(client, auth, app, users):
    with app.app_context():
        setup_master_data(clock.today())
    ada, rob, tina = auth.token("ada"), auth.token("rob"), auth.token("tina")
    spec = {
        "tests": [
            {
                "key": "assay",
                "kind": "range",
                "unit": "% LC",
                "min": 90.0,
                "max": 110.0,
                "decimals": 1,
                "warn_min": 95.0,
                "warn_max": 105.0,
            }
        ]
    }
    body = {
        "code": "LDN-WARN",
        "name": "LDN capsules with a warning band",
        "dosage_form": "capsule",
        "strength_min_mg": 0.5,
        "strength_max_mg": 4.5,
        "fill_weight_mg": 225.0,
        "storage": "room",
        "components": [
            {"material": "NTX-HCL", "role": "api"},
            {"material": "MCC", "role": "filler"},
            {"material": "CAP-3", "role": "container"},
        ],
        "bud": {"category": "nonaqueous_other"},
        "specification": spec,
    }
    assert client.post("/api/v1/formulas", json=body, headers=ada).status_code == 201
    sign = {"username": "rob", "password": PASSWORD, "meaning": "approved"}
    assert (
        client.post("/api/v1/formulas/LDN-WARN/approve", json={"signature": sign}, headers=rob).status_code
        == 200
    )
    with app.app_context():
        lot = completed_batch_of(app, "LDN-WARN")
    result = post(client, tina, lot, test="assay", value=94.9).get_json()
    assert result["evaluation"]["status"] == "warning"
    assert status_of(client, tina, lot)["status"] == "awaiting_release"


def completed_batch_of(app, formula: str) -> str:
    barcodes = {lot.material.code: lot.barcode for lot in db.session.scalars(sa.select(MaterialLot))}
    tina = user("tina")
    lot = batches.create_batch(tina, formula=formula, strength_mg=1.5, quantity=100).lot_number
    batches.record_component(tina, lot, barcode=barcodes["NTX-HCL"], quantity_mg=151.5, balance="XS205")
    batches.record_component(tina, lot, barcode=barcodes["MCC"], quantity_mg=22348.5, balance="XS205")
    batches.record_component(tina, lot, barcode=barcodes["CAP-3"], count=100)
    batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
    batches.record_weight_check(tina, lot, [225.0] * 10)
    batches.complete(tina, lot, actual_yield=100, storage_unit="SHELF-1")
    return lot


# --- no result outside the plan (domain.md §5) ------------------------------------------------

SIGN_REVIEWED = {"username": "rob", "password": PASSWORD, "meaning": "reviewed"}
LAB_CLOSE = {
    "signature": SIGN_REVIEWED,
    "phase": "I",
    "assignable_cause": "laboratory",
    "cause": "Standard prepared at the wrong dilution",
    "conclusion": "Original result invalid",
}


def open_investigation(client, rob, lot, result_id, retests):
    opened = client.post(
        f"/api/v1/batches/{lot}/investigations",
        headers=rob,
        json={"result_id": result_id, "retests_allowed": retests},
    )
    assert opened.status_code == 201, opened.get_json()
    return opened.get_json()["id"]


def test_a_retest_posted_before_any_investigation_is_refused_and_cannot_release(client, tina, rob, lot):
    """assay 80 → retest 99 → investigation with 0 retests → laboratory cause: still no release on the 99."""
    failed = post(client, tina, lot, test="assay", value=80.0).get_json()
    early = post(client, tina, lot, test="assay", value=99.0)
    assert early.status_code == 409
    assert early.get_json()["error"] == {
        "code": "wrong_state",
        "message": f"Assay result {failed['id']} of {lot} is out of specification and no investigation "
        "covers it: open an investigation first.",
        "fields": {"test": f"Open an investigation on result {failed['id']} first."},
    }
    post(client, tina, lot, test="content_uniformity", values=VECTOR_A)
    post(client, tina, lot, test="appearance", value="Conforms")
    assert [r["value"] for r in status_of(client, tina, lot)["results"] if r["test"] == "assay"] == [80.0]

    investigation = open_investigation(client, rob, lot, failed["id"], 0)
    closed = client.post(f"/api/v1/investigations/{investigation}/close", headers=rob, json=LAB_CLOSE)
    assert closed.status_code == 200, closed.get_json()
    body = status_of(client, tina, lot)
    assert (body["status"], body["missing_tests"]) == ("quarantine", ["assay"])

    replacement = post(client, tina, lot, test="assay", value=99.0)
    assert replacement.status_code == 201, replacement.get_json()
    assert replacement.get_json()["retest_of_investigation"] == investigation
    assert status_of(client, tina, lot)["status"] == "awaiting_release"
    second = post(client, tina, lot, test="assay", value=99.1)
    assert second.status_code == 409
    assert second.get_json()["error"]["fields"] == {
        "test": "No retest or replacement left under the investigation's plan."
    }


def test_a_result_beyond_the_allowance_while_the_investigation_is_open_is_refused(client, tina, rob, lot):
    failed = post(client, tina, lot, test="assay", value=85.0).get_json()
    investigation = open_investigation(client, rob, lot, failed["id"], 0)
    refused = post(client, tina, lot, test="assay", value=99.0)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["message"] == (
        f"Investigation {investigation} allows 0 retest(s) of assay, fixed when it opened; 0 already recorded."
    )


def test_a_failed_content_uniformity_set_takes_no_new_set_until_investigated(client, tina, rob, lot):
    post(client, tina, lot, test="content_uniformity", values=FAQ_SET)
    failed = post(client, tina, lot, test="content_uniformity", values=[100.0] * 19 + [75.0]).get_json()
    assert failed["evaluation"]["status"] == "fail"
    refused = post(client, tina, lot, test="content_uniformity", values=VECTOR_A)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["fields"] == {
        "test": f"Open an investigation on result {failed['id']} first."
    }
    investigation = open_investigation(client, rob, lot, failed["id"], 1)
    retest = post(client, tina, lot, test="content_uniformity", values=VECTOR_A)
    assert (retest.status_code, retest.get_json()["retest_of_investigation"]) == (201, investigation)


def test_the_csv_import_refuses_a_file_with_a_result_outside_the_plan(client, tina, lot):
    failed = post(client, tina, lot, test="assay", value=80.0).get_json()
    text = csv_rows(lot, VECTOR_A) + f"{lot},assay,99.0,1,HPLC,J. Lab,2026-11-20T10:00:00Z\n"
    response = client.post("/api/v1/results/import", data=text, content_type="text/csv", headers=tina)
    assert response.status_code == 400  # api.md: a refused row fails the whole file with 400
    assert response.get_json()["error"]["rows"] == [
        {
            "row": 12,
            "message": f"{lot} assay: Assay result {failed['id']} of {lot} is out of specification and no "
            f"investigation covers it: open an investigation first. "
            f"Open an investigation on result {failed['id']} first.",
        }
    ]
    assert [r["id"] for r in status_of(client, tina, lot)["results"]] == [failed["id"]]
