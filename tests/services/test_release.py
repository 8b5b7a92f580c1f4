"""Release, rejection and recall: the checklist the server enforces, signatures, certificates.

The reviewer who releases is neither the compounder nor the weighing verifier; a batch that is
not ready is refused with every unmet item named; a wrong password is a 401 that counts toward
the lockout; a released batch is locked until a recall, which revokes its certificate.
"""

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask, current_app

from qa_app.errors import InvalidInput, NotAuthenticated, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import AuditEvent, BatchDecision, Certificate, Signature
from qa_app.services import batches, certificates, clock, investigations, release, results, review
from qa_app.services.signatures import SignatureInput
from tests.api.test_results_api import VECTOR_A
from tests.builders import signature, user
from tests.conftest import make_user
from tests.services.test_results import events, record, shared_database_app, status

RELEASERS = {"rita": "Rita Release, PharmD", "raj": "Raj Second Reviewer"}


# --- builders (the API and page tests use them too) -------------------------------------------


def add_releasers(app: Flask) -> None:
    """Two reviewers who made nothing, so either may release."""
    for username, name in RELEASERS.items():
        make_user(app, username, ("reviewer",), name)


def completed_batch(
    *,
    compounder: str = "tina",
    verifier: str = "rob",
    actual_yield: float = 100,
    yield_reason: str | None = None,
    compounded_at=None,
    unit: str = "SHELF-1",
) -> str:
    """100 capsules of 1.5 mg compounded by ``compounder``, verified by ``verifier``, in quarantine."""
    lots = current_app.config["TEST_LOTS"]
    maker = user(compounder)
    batch = batches.create_batch(
        maker,
        formula="LDN-CAP",
        strength_mg=1.5,
        quantity=100,
        api_lot=lots["api"],
        compounded_at=compounded_at,
    )
    lot, calculation = batch.lot_number, batch.calculation
    batches.record_component(
        maker, lot, barcode=lots["api"], quantity_mg=calculation["api_mg"], balance="XS205"
    )
    batches.record_component(
        maker, lot, barcode=lots["mcc"], quantity_mg=calculation["filler_mg"], balance="XS205"
    )
    batches.record_component(maker, lot, barcode=lots["caps"], count=100)
    batches.verify_weighing(user(verifier), lot, signature(verifier, "verified"))
    batches.record_weight_check(maker, lot, [225.0] * 10)
    batches.complete(
        maker,
        lot,
        actual_yield=actual_yield,
        storage_unit=unit,
        deviation_reason=yield_reason,
        at=compounded_at,
    )
    return lot


def pass_every_test(lot: str) -> None:
    results.record_result(user("tina"), lot, test="assay", value=99.8, method="HPLC-UV")
    results.record_result(user("tina"), lot, test="content_uniformity", values=VECTOR_A)
    results.record_result(user("tina"), lot, test="appearance", value="Conforms")


def ready_batch(**kwargs) -> str:
    """A batch awaiting release: every required test passes, nothing holds it."""
    lot = completed_batch(**kwargs)
    pass_every_test(lot)
    assert status(lot) == "awaiting_release"
    return lot


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    for app in shared_database_app(databases, str(tmp_path_factory.mktemp("release-instance"))):
        add_releasers(app)
        yield app


@pytest.fixture
def ctx(shared_app):
    with shared_app.app_context():
        yield


def released(lot: str, username: str = "rita") -> Certificate:
    return release.release(user(username), lot, signature(username, "released"))


def certificate_count(lot: str) -> int:
    batch = batches.get_batch(lot)
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Certificate).where(Certificate.batch_id == batch.id)
    )


# --- release ----------------------------------------------------------------------------------


def test_release_issues_version_1_whose_stored_bytes_match_their_sha256(ctx):
    lot = ready_batch()

    certificate = released(lot)

    assert status(lot) == "released"
    assert re.fullmatch(rf"COA-{clock.today().year}-\d{{5}}", certificate.number)
    assert (certificate.version, certificate.status) == (1, "valid")
    pdf = certificates.stored_pdf(certificate)
    assert pdf.startswith(b"%PDF-")
    assert certificate.sha256 == hashlib.sha256(pdf).hexdigest()
    assert certificate.size == len(pdf)
    [decision] = db.session.scalars(
        sa.select(BatchDecision).where(BatchDecision.batch_id == certificate.batch_id)
    )
    assert (decision.decision, decision.decided_by.username, decision.reason) == ("released", "rita", None)
    signed = db.session.get(Signature, certificate.signature_id)
    assert (signed.meaning, signed.signer_name, signed.entity_key) == (
        "released",
        "Rita Release, PharmD",
        lot,
    )
    [event] = events(lot, "batch.released")
    assert event.new_values == {
        "status": "released",
        "certificate": certificate.number,
        "version": 1,
        "sha256": certificate.sha256,
    }
    assert event.old_values == {"status": "awaiting_release"}


def test_certificate_numbers_count_up_within_the_year(ctx):
    first = released(ready_batch())
    second = released(ready_batch(), "raj")

    year, n = first.number.rsplit("-", 1)
    assert second.number == f"{year}-{int(n) + 1:05d}"


@pytest.mark.parametrize(
    ("compounder", "verifier", "releaser", "why"),
    [
        ("rita", "rob", "rita", "You compounded this batch; another reviewer must release it."),
        ("tina", "rita", "rita", "You verified this batch's API weighing; another reviewer must release it."),
    ],
    ids=["the compounder", "the weighing verifier"],
)
def test_the_compounder_and_the_verifier_may_not_release(ctx, compounder, verifier, releaser, why):
    lot = ready_batch(compounder=compounder, verifier=verifier)

    with pytest.raises(NotPermitted) as refused:
        released(lot, releaser)

    assert refused.value.message == why
    db.session.rollback()
    assert status(lot) == "awaiting_release"
    assert certificate_count(lot) == 0


@pytest.mark.parametrize("username", ["tina", "ada", "ivan"])
def test_only_a_reviewer_releases(ctx, username):
    lot = ready_batch()
    with pytest.raises(NotPermitted):
        release.release(user(username), lot, signature(username, "released"))


def test_a_batch_still_missing_results_is_refused_naming_what_is_unmet(ctx):
    lot = completed_batch()
    record(lot, "assay", 99.8)

    with pytest.raises(WrongState) as refused:
        released(lot)

    assert refused.value.status == 409
    assert set(refused.value.fields) == {"status", "tests"}
    assert refused.value.fields["tests"] == "Missing or not passing: Content uniformity, Appearance."
    assert "Batch " + lot + " cannot be released" in refused.value.message
    db.session.rollback()
    assert certificate_count(lot) == 0


def test_an_open_investigation_is_an_unmet_item(ctx):
    lot = completed_batch()
    failed = record(lot, "assay", 85.0)
    opened = investigations.open_investigation(user("rob"), lot, result_id=failed.id, retests_allowed=1)
    record(lot, "content_uniformity", values=VECTOR_A)
    record(lot, "appearance", "Conforms")

    with pytest.raises(WrongState) as refused:
        released(lot)

    assert set(refused.value.fields) == {"status", "tests", "investigations"}
    assert refused.value.fields["investigations"] == f"Investigation {opened.id} on Assay is open (phase I)."


def test_a_batch_past_its_bud_is_not_released(ctx):
    lot = ready_batch(compounded_at=clock.utcnow() - timedelta(days=200))

    with pytest.raises(WrongState) as refused:
        released(lot)

    assert set(refused.value.fields) == {"bud"}
    assert refused.value.fields["bud"].startswith("BUD ")
    assert "has passed" in refused.value.fields["bud"]


def test_a_wrong_password_is_refused_audited_and_counted_toward_the_lockout(ctx):
    lot = ready_batch()
    rita = user("rita")
    before = rita.failed_attempts

    with pytest.raises(NotAuthenticated) as refused:
        release.release(rita, lot, SignatureInput("rita", "not-her-password", "released"))

    assert refused.value.status == 401
    assert refused.value.fields == {"signature.password": "Wrong password; enter your own password again."}
    assert status(lot) == "awaiting_release"
    assert certificate_count(lot) == 0
    assert user("rita").failed_attempts == before + 1
    failed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "signature.failed").order_by(AuditEvent.seq.desc())
    ).first()
    assert (failed.entity_key, failed.new_values["channel"], failed.new_values["why"]) == (
        "rita",
        "signature",
        "wrong password",
    )
    released(lot)  # the right password still works and resets the count
    assert user("rita").failed_attempts == 0


def test_five_wrong_signing_passwords_lock_the_account(ctx, shared_app):
    make_user(shared_app, "rex", ("reviewer",), "Rex Reviewer")
    lot = ready_batch()
    for _ in range(5):
        with pytest.raises(NotAuthenticated):
            release.release(user("rex"), lot, SignatureInput("rex", "wrong-password", "released"))
    assert user("rex").is_locked(clock.utcnow())
    assert events_for_user("rex", "user.locked")


def events_for_user(username: str, action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.entity_key == username, AuditEvent.action == action)
        )
    )


def test_the_meaning_is_fixed_by_the_action(ctx):
    lot = ready_batch()
    with pytest.raises(InvalidInput) as refused:
        release.release(user("rita"), lot, signature("rita", "approved"))
    assert refused.value.fields == {"signature.meaning": "Use 'released' for this action."}


def test_a_released_batch_is_locked(ctx):
    lot = ready_batch()
    released(lot)

    with pytest.raises(WrongState, match="released and locked"):
        batches.move(user("tina"), lot, storage_unit="FRIDGE-1")
    db.session.rollback()
    with pytest.raises(WrongState, match="results are recorded only between completion and release"):
        record(lot, "assay", 101.0)
    db.session.rollback()
    with pytest.raises(WrongState, match="is released already"):
        released(lot, "raj")
    db.session.rollback()
    with pytest.raises(WrongState, match="only a batch in quarantine, on hold or awaiting release"):
        release.reject(user("raj"), lot, signature("raj", "rejected"), "Changed my mind")
    db.session.rollback()
    assert certificate_count(lot) == 1


# --- reject and recall ------------------------------------------------------------------------


def test_rejection_needs_a_reason_and_is_signed(ctx):
    lot = completed_batch()
    record(lot, "assay", 85.0)
    assert status(lot) == "on_hold"
    with pytest.raises(InvalidInput) as refused:
        release.reject(user("rob"), lot, signature("rob", "rejected"), "   ")
    assert refused.value.fields == {"reason": "Required: say why, in words an inspector understands."}
    db.session.rollback()

    release.reject(
        user("rob"), lot, signature("rob", "rejected"), "Assay 85.0 % LC <confirmed> & out of limits"
    )

    assert status(lot) == "rejected"
    [event] = events(lot, "batch.rejected")
    assert (event.old_values, event.new_values) == ({"status": "on_hold"}, {"status": "rejected"})
    assert event.reason == "Assay 85.0 % LC <confirmed> & out of limits"
    assert [s.meaning for s in review.load(lot).view.signatures][-1] == "rejected"
    with pytest.raises(WrongState):
        released(lot)


def test_recall_revokes_the_certificate_and_keeps_its_bytes(ctx):
    lot = ready_batch()
    certificate = released(lot)
    issued_bytes = certificates.stored_pdf(certificate)
    with pytest.raises(InvalidInput):
        release.recall(user("raj"), lot, signature("raj", "recalled"), "")
    db.session.rollback()

    release.recall(user("raj"), lot, signature("raj", "recalled"), "Label mix-up reported by the pharmacy")

    revoked = certificates.get(certificate.number)
    assert status(lot) == "recalled"
    assert (revoked.status, revoked.revoked_by.username) == ("revoked", "raj")
    assert revoked.revoked_reason == "Label mix-up reported by the pharmacy"
    assert certificates.stored_pdf(revoked) == issued_bytes
    assert [e.new_values for e in events(lot, "batch.recalled")] == [
        {"status": "recalled", "revoked": [certificate.number]}
    ]
    with pytest.raises(WrongState, match="only a released batch can be recalled"):
        release.recall(user("raj"), lot, signature("raj", "recalled"), "again")


# --- the checklist and the preview ------------------------------------------------------------


def test_the_checklist_of_a_ready_batch_holds_item_by_item(ctx):
    lot = ready_batch()
    checked = review.load(lot)

    assert [(item.key, item.ok) for item in checked.items] == [
        ("status", True),
        ("components", True),
        ("api_weighing", True),
        ("deviations", True),
        ("in_process", True),
        ("tests", True),
        ("investigations", True),
        ("excursions", True),
        ("bud", True),
        ("specification", True),
    ]
    assert checked.ready
    items = {item.key: item for item in checked.items}
    assert items["components"].detail == "3 component lot(s), all approved and in date."
    assert "verified by Rob Reviewer, PharmD" in items["api_weighing"].detail
    assert items["tests"].lines == (
        "Assay (required): 99.8 % LC — pass",
        "Content uniformity (required): AV 3.4 (stage 1, n = 10; X̄ 99.92 %, s 1.42) — pass",
        "Appearance (required): Conforms — pass",
    )
    assert items["specification"].detail == "LDN-CAP v1, frozen on the batch when it was created."
    who = [(s.who, s.what) for s in checked.steps]
    assert who[0] == ("Tina Technician (tina)", "opened the compounding record")
    assert ("Rob Reviewer, PharmD (rob)", "verified the API weighing (signed)") in who
    assert who[-1] == ("Tina Technician (tina)", "status → awaiting release")


def test_a_yield_deviation_is_listed_with_its_reason_as_typed(ctx):
    lot = ready_batch(actual_yield=94, yield_reason="Spilled <b>six</b> capsules & swept them")

    checked = review.load(lot)

    assert checked.deviations == [
        "Yield 94.0 % of theoretical, outside 95–105 %; reason: Spilled <b>six</b> capsules & swept them"
    ]
    assert checked.ready


def test_the_preview_is_never_stored(ctx):
    lot = ready_batch()

    doc = certificates.document(review.load(lot))

    assert doc.status == "preview"
    assert doc.filename.endswith("PREVIEW-NOT-RELEASED.pdf")
    assert certificate_count(lot) == 0
