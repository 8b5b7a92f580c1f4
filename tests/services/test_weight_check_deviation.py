"""A failed capsule weight check stays a deviation, documented by the reason for the next check.

Read back the way a reviewer and an inspector read it: the review checklist, the record PDF and
the certificate of analysis (pdftotext). Also what a released batch's checklist and label say.
"""

import shutil
from collections.abc import Iterator

import pytest
from flask import Flask, current_app

from qa_app.errors import InvalidInput
from qa_app.extensions import db
from qa_app.models import WeightCheck
from qa_app.reports.labels import batch_label_pdf
from qa_app.services import batches, certificates, labels, records, review
from tests.builders import signature, user
from tests.reports.test_certificate_pdf import pdf_text, squeeze
from tests.services.test_release import add_releasers, pass_every_test, released
from tests.services.test_results import quarantined_liquid, shared_database_app, status

pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")

FAILING = [225.0] * 9 + [200.0]  # capsule 10 at 88.89 % of 225 mg
PASSING = [224.0, 226.0] * 5
REASON = "Capsule 10 under-filled: the whole tray re-filled and re-weighed"


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    for app in shared_database_app(databases, str(tmp_path_factory.mktemp("weight-check-instance"))):
        add_releasers(app)
        yield app


@pytest.fixture
def ctx(shared_app):
    with shared_app.app_context():
        yield


def weighed_draft(quantity: int = 100) -> str:
    """A capsule draft with every component recorded and the API weighing verified."""
    lots = current_app.config["TEST_LOTS"]
    tina = user("tina")
    batch = batches.create_batch(
        tina, formula="LDN-CAP", strength_mg=1.5, quantity=quantity, api_lot=lots["api"]
    )
    lot, calculation = batch.lot_number, batch.calculation
    batches.record_component(
        tina, lot, barcode=lots["api"], quantity_mg=calculation["api_mg"], balance="XS205"
    )
    batches.record_component(
        tina, lot, barcode=lots["mcc"], quantity_mg=calculation["filler_mg"], balance="XS205"
    )
    batches.record_component(tina, lot, barcode=lots["caps"], count=quantity)
    batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
    return lot


def checks(lot: str) -> list[WeightCheck]:
    db.session.expire_all()
    return list(batches.get_batch(lot).weight_checks)


def item(lot: str, key: str):
    return next(i for i in review.load(lot).items if i.key == key)


def test_a_new_check_after_a_failed_one_needs_a_reason_and_nothing_is_written_without(ctx):
    lot = weighed_draft()
    assert batches.record_weight_check(user("tina"), lot, FAILING).passed is False

    for blank in (None, "", "   \n"):
        with pytest.raises(InvalidInput) as refused:
            batches.record_weight_check(user("tina"), lot, PASSING, blank)
        assert "reason" in refused.value.fields
        assert "last capsule weight check failed" in refused.value.fields["reason"]
        db.session.rollback()
    assert [c.passed for c in checks(lot)] == [False]

    again = batches.record_weight_check(user("tina"), lot, PASSING, f"  {REASON} ")
    assert (again.passed, again.reason) == (True, REASON)
    assert [c.passed for c in checks(lot)] == [False, True]


def test_a_second_failed_check_also_needs_a_reason_for_the_third(ctx):
    lot = weighed_draft()
    batches.record_weight_check(user("tina"), lot, FAILING)
    batches.record_weight_check(user("tina"), lot, FAILING, "re-filled capsule 10")
    with pytest.raises(InvalidInput, match="give the reason"):
        batches.record_weight_check(user("tina"), lot, PASSING)
    db.session.rollback()
    batches.record_weight_check(user("tina"), lot, PASSING, "machine recalibrated, all re-filled")
    found = [d for d in review.load(lot).deviations if d.startswith("Capsule weight check")]
    assert len(found) == 2
    assert found[0].endswith("reason: re-filled capsule 10")
    assert found[1].endswith("reason: machine recalibrated, all re-filled")


def test_a_first_check_needs_no_reason(ctx):
    lot = weighed_draft()
    assert batches.record_weight_check(user("tina"), lot, PASSING).reason is None


def test_the_failed_check_stays_a_documented_deviation_on_the_checklist(ctx):
    lot = weighed_draft()
    batches.record_weight_check(user("tina"), lot, FAILING)
    batches.record_weight_check(user("tina"), lot, PASSING, REASON)
    batches.complete(user("tina"), lot, actual_yield=100, storage_unit="SHELF-1")

    checked = review.load(lot)
    [deviation] = checked.deviations
    assert deviation.startswith("Capsule weight check of ")
    assert "failed: Capsule 10 (200 mg, 88.89 %) outside 202.5–247.5 mg" in deviation
    assert deviation.endswith(f"reason: {REASON}")
    deviations = item(lot, "deviations")
    assert (deviations.ok, deviations.detail) == (True, "1 deviation(s), each documented.")


def test_an_old_record_with_a_failed_check_and_no_reason_is_not_documented(ctx):
    lot = weighed_draft()
    batches.record_weight_check(user("tina"), lot, FAILING)
    # Recorded before a reason was asked for: the later passing check carries none.
    old = batches.record_weight_check(user("tina"), lot, PASSING, "placeholder")
    old.reason = None
    db.session.commit()
    batches.complete(user("tina"), lot, actual_yield=100, storage_unit="SHELF-1")

    deviations = item(lot, "deviations")
    assert deviations.ok is False
    assert deviations.detail == "1 deviation(s) without a reason."
    assert review.load(lot).deviations[0].endswith("reason: (none given)")


@pytest.fixture
def released_after_failed_check(ctx) -> str:
    lot = weighed_draft()
    batches.record_weight_check(user("tina"), lot, FAILING)
    batches.record_weight_check(user("tina"), lot, PASSING, REASON)
    batches.complete(user("tina"), lot, actual_yield=97, storage_unit="SHELF-1", deviation_reason=None)
    pass_every_test(lot)
    assert status(lot) == "awaiting_release"
    released(lot)
    return lot


@pdftotext
def test_the_certificate_and_the_record_carry_the_failure_and_its_reason(
    released_after_failed_check, tmp_path
):
    lot = released_after_failed_check
    certificate = review.load(lot).certificate
    coa = squeeze(pdf_text(certificates.stored_pdf(certificate), tmp_path))
    assert "Capsule weight check of" in coa
    assert "failed: Capsule 10 (200 mg, 88.89 %) outside 202.5–247.5 mg" in coa
    assert f"reason: {REASON}" in coa

    record = squeeze(pdf_text(records.record_pdf_for(review.load(lot), None), tmp_path))
    assert "FAIL" in record
    assert f"(made again after a failed one): {REASON}" in record
    assert f"reason: {REASON}" in record


@pdftotext
def test_the_certificate_states_the_quantity_made(released_after_failed_check, tmp_path):
    lot = released_after_failed_check
    certificate = review.load(lot).certificate
    coa = squeeze(pdf_text(certificates.stored_pdf(certificate), tmp_path))
    assert "Quantity 97 capsules (made)" in coa
    assert "Quantity 100 capsules" not in coa
    assert "Actual yield 97 capsules of 100 capsules planned (97.0 % of theoretical)" in coa


def test_a_released_batch_checklist_reads_every_item_as_met(released_after_failed_check):
    checked = review.load(released_after_failed_check)
    assert [(i.key, i.ok) for i in checked.items if not i.ok] == []
    assert checked.items[0].key == "status"
    assert (checked.items[0].ok, checked.items[0].detail) == (True, "The batch is released.")
    assert checked.ready is False  # released already: it cannot be released again


@pdftotext
def test_a_capsule_label_states_the_quantity_made_route_and_amount_per_capsule(
    released_after_failed_check, tmp_path
):
    batch = batches.get_batch(released_after_failed_check)
    text = squeeze(pdf_text(batch_label_pdf(labels.batch_label(batch)), tmp_path))
    assert "Qty 97 capsules" in text
    assert "100 capsules" not in text
    assert "Compounded preparation" in text
    assert "Naltrexone hydrochloride" in text
    assert "1.5 mg per capsule" in text
    assert "Capsule · oral use" in text
    assert "NOT RELEASED" not in text


@pdftotext
def test_a_liquid_label_states_concentration_dose_volume_and_route(ctx, tmp_path):
    lot = quarantined_liquid()
    batch = batches.get_batch(lot)
    text = squeeze(pdf_text(batch_label_pdf(labels.batch_label(batch)), tmp_path))
    assert "Naltrexone hydrochloride" in text
    assert "1 mg/mL · dose 4.5 mL (4.5 mg)" in text
    assert "Oral liquid · oral use · Qty 100 mL" in text
    assert "Compounded preparation" in text
    assert "Store refrigerated at 2–8 °C" in text
    assert "NOT RELEASED — QUARANTINE" in text


@pdftotext
def test_a_draft_label_states_no_quantity_yet(ctx, tmp_path):
    lot = weighed_draft(quantity=60)
    text = squeeze(pdf_text(batch_label_pdf(labels.batch_label(batches.get_batch(lot))), tmp_path))
    assert "Qty — (not completed)" in text
    assert "60 capsules" not in text
