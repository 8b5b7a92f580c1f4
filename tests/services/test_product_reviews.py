"""The annual product review, service level: what a year's review counts and lists, signing it
once (meaning reviewed) with its PDF kept byte for byte, and the DRAFT preview (domain.md §10)."""

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_app.errors import InvalidInput, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import AuditEvent, ProductReview, Result, Signature
from qa_app.services import batches, clock, investigations, product_reviews, release, results
from tests.builders import setup_master_data, signature, user

CONCLUSIONS = "Process in control; one OOS from a blend problem, batch rejected; no change needed."


@pytest.fixture
def lots(app, users):
    with app.app_context():
        return setup_master_data(clock.today())


def assayed(assays: list[float], strength: float = 1.5) -> list[str]:
    """Batches compounded an hour apart (oldest first), completed for results, each with its
    assay (as tests/services/test_trends.py makes them, hours apart so they share a year)."""
    tina = user("tina")
    start = clock.utcnow() - timedelta(hours=len(assays) + 2)
    made = []
    for i, assay in enumerate(assays):
        batch = batches.create_batch(
            tina,
            formula="LDN-CAP",
            strength_mg=strength,
            quantity=100,
            compounded_at=start + timedelta(hours=i),
        )
        batch.status = "quarantine"  # set-up: results need a completed batch
        db.session.commit()
        results.record_result(tina, batch.lot_number, test="assay", value=assay)
        made.append(batch.lot_number)
    return made


def hand_built_year() -> tuple[int, list[str]]:
    """3 batches released, 1 rejected after a confirmed OOS, 1 discarded draft."""
    made = assayed([99.0, 100.0, 101.0, 85.0])
    for lot in made[:3]:
        batches.get_batch(lot).status = "released"  # set-up: release itself is tested elsewhere
    db.session.commit()
    failing = db.session.scalar(
        sa.select(Result).where(Result.batch_id == batches.get_batch(made[3]).id, Result.status == "fail")
    )
    inv = investigations.open_investigation(user("rob"), made[3], result_id=failing.id, retests_allowed=0)
    investigations.close_investigation(
        user("rob"),
        inv.id,
        signature("rob", "reviewed"),
        phase="II",
        assignable_cause="manufacturing",
        cause="Blend time too short",
        conclusion="OOS confirmed: blend not uniform",
    )
    release.reject(user("rob"), made[3], signature("rob", "rejected"), "Assay 85.0 % LC confirmed OOS")
    draft = batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100)
    db.session.commit()
    batches.discard(user("tina"), draft.lot_number, "Spilled while blending")
    year = clock.local_date(batches.get_batch(made[0]).compounded_at).year
    return year, [*made, draft.lot_number]


def test_the_content_of_a_hand_built_year(app, lots):
    with app.app_context():
        year, made = hand_built_year()
        formula = product_reviews._formula("LDN-CAP")
        found = product_reviews.content(formula, year)
        counts = dict(found.counts)
        assert counts["Batches made"] == "5"
        assert counts["Released"] == "3"
        assert counts["Rejected"] == "1"
        assert counts["Discarded"] == "1"
        assert counts["Recalled"] == "0"
        assert counts["OOS results"] == "1"
        assert [b[0] for b in found.batches] == made
        assert [b[3] for b in found.batches] == ["released"] * 3 + ["rejected", "discarded"]
        (oos,) = found.oos
        assert oos[0] == made[3]
        assert oos[2] == "85.0 % LC"
        assert oos[3] == "OOS confirmed"
        assert oos[4] == "OOS confirmed: blend not uniform"
        assert any("OOS confirmed for Assay" in d and made[3] in d for d in found.deviations)
        assert any("Spilled while blending" in d for d in found.deviations)
        assert [v[0] for v in found.versions] == ["v1"]
        assay = next(t for t in found.trends if t.title.startswith("Assay"))
        assert assay.chart is not None and list(assay.chart.values) == [99.0, 100.0, 101.0, 85.0]
        assert "needs 20 points; this year has 4" in assay.capability


def test_signing_stores_the_pdf_with_its_sha256_once(app, lots):
    with app.app_context():
        year, _ = hand_built_year()
        review = product_reviews.sign(user("rob"), "LDN-CAP", year, CONCLUSIONS, signature("rob", "reviewed"))
        stored = db.session.get(ProductReview, review.id)
        assert stored.sha256 == hashlib.sha256(stored.pdf).hexdigest()
        assert stored.size == len(stored.pdf)
        assert product_reviews.document("LDN-CAP", year).data == stored.pdf
        signed = db.session.get(Signature, stored.signature_id)
        assert (signed.meaning, signed.entity_type, signed.entity_key) == (
            "reviewed",
            "product_review",
            f"LDN-CAP/{year}",
        )
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.entity_type == "product_review")
        ).all()
        assert actions == ["signature.signed", "product_review.signed"]
        with pytest.raises(WrongState):
            product_reviews.sign(user("rob"), "LDN-CAP", year, "Again", signature("rob", "reviewed"))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProductReview)) == 1


def test_who_may_sign_and_what_is_refused(app, lots):
    with app.app_context():
        year, _ = hand_built_year()
        with pytest.raises(NotPermitted):
            product_reviews.sign(user("tina"), "LDN-CAP", year, CONCLUSIONS, signature("tina", "reviewed"))
        with pytest.raises(InvalidInput) as refused:
            product_reviews.sign(user("rob"), "LDN-CAP", year, "   ", signature("rob", "reviewed"))
        assert "conclusions" in refused.value.fields
        with pytest.raises(WrongState) as future:
            product_reviews.sign(user("rob"), "LDN-CAP", year + 1, CONCLUSIONS, signature("rob", "reviewed"))
        assert "year" in future.value.fields
        with pytest.raises(WrongState) as empty:
            product_reviews.sign(user("rob"), "LDN-CAP", 2001, CONCLUSIONS, signature("rob", "reviewed"))
        assert "No batch of LDN-CAP was compounded in 2001" in empty.value.message
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProductReview)) == 0


def test_the_preview_is_marked_draft_and_never_stored(app, lots):
    with app.app_context():
        year, _ = hand_built_year()
        doc = product_reviews.document("LDN-CAP", year)
        assert doc.status == "draft"
        assert doc.data.startswith(b"%PDF")
        assert doc.sha256 is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProductReview)) == 0
