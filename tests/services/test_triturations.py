"""Triturations, service level: the arithmetic, the intermediate lot, its approval with the
batch, a 0.5 mg batch made from it, the chain and where-used (domain.md §2.1)."""

from datetime import timedelta

import pytest

from qa_app.errors import InvalidInput, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import AuditEvent, MaterialLot
from qa_app.services import batches, clock, formulas, materials, release, triturations
from tests.builders import setup_master_data, signature, user
from tests.conftest import make_user
from tests.triturations import (
    INTERMEDIATE,
    TRITURATED_CAPSULE,
    TRITURATION_FORMULA,
    make_trituration_lot,
    setup_trituration_formulas,
    trituration_formula_body,
)


@pytest.fixture
def lots(app, users):
    make_user(app, "rhea", ("reviewer",), "Rhea Reviewer, PharmD")
    with app.app_context():
        found = setup_master_data(clock.today())
        setup_trituration_formulas()
        return found


def test_ten_grams_at_ten_percent_from_an_api_of_99_percent_as_is(app, lots):
    with app.app_context():
        batch = batches.create_batch(
            user("tina"), formula=TRITURATION_FORMULA, quantity_mg=10000, api_lot=lots["api"]
        )
        assert batch.dosage_form == "trituration"
        assert batch.calculation["api_mg"] == 1010.10
        assert batch.calculation["filler_mg"] == 8989.90
        assert batch.calculation["quantity_unit"] == "mg"
        assert batch.calculation["explanation"] == (
            "10000 mg × 10.0 % / 100 × 100 / 99.0 % = 1010.10 mg; diluent = 10000 mg − 1010.10 mg = 8989.90 mg"
        )
        assert (batch.bud - clock.today()).days == 179  # 180 days counting today, as a capsule


def test_a_trituration_batch_takes_a_mass_not_a_dose(app, lots):
    with app.app_context():
        tina = user("tina")
        with pytest.raises(InvalidInput) as refused:
            batches.create_batch(tina, formula=TRITURATION_FORMULA, quantity_mg=10000, strength_mg=1.5)
        assert "strength_mg" in refused.value.fields
        with pytest.raises(InvalidInput) as refused:
            batches.create_batch(tina, formula=TRITURATION_FORMULA)
        assert "quantity_mg" in refused.value.fields
        with pytest.raises(InvalidInput) as refused:
            batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity_mg=100)
        assert "quantity_mg" in refused.value.fields


def test_a_trituration_formula_needs_its_concentration_and_an_intermediate_it_produces(app, lots):
    with app.app_context():
        ada = user("ada")
        body = trituration_formula_body(code="TRIT-X")
        del body["concentration_percent"]
        body["produces"] = "MCC"
        body["strength_min_mg"] = 0.5
        with pytest.raises(InvalidInput) as refused:
            formulas.create_formula(ada, body)
        fields = refused.value.fields
        assert "concentration_percent" in fields
        assert fields["produces"] == "MCC is excipient; a trituration produces an intermediate material."
        assert "strength_min_mg" in fields
        with pytest.raises(InvalidInput) as refused:
            formulas.create_formula(ada, trituration_formula_body(code="TRIT-Y"))
        assert refused.value.fields["produces"].startswith("NTX-TRIT10 is made by formula LDN-TRIT10 already")


def test_an_intermediate_lot_cannot_be_received_from_a_supplier(app, lots):
    with app.app_context():
        with pytest.raises(InvalidInput) as refused:
            materials.receive_lot(
                user("tina"),
                material=INTERMEDIATE,
                supplier="Someone",
                supplier_lot="X1",
                expiry_date=clock.today() + timedelta(days=100),
                assay_percent=10.0,
            )
        assert "made by completing a trituration batch" in refused.value.fields["material"]


def test_completing_a_trituration_makes_its_lot_in_quarantine_and_the_lot_decides_the_batch(app, lots):
    with app.app_context():
        lot_number, barcode = make_trituration_lot(lots, "rhea", approve=False)
        lot = materials.get_lot(barcode)
        batch = batches.get_batch(lot_number)
        assert (lot.material.code, lot.status, lot.assay_percent) == (INTERMEDIATE, "quarantine", 10.0)
        assert lot.expiry_date == batch.bud
        assert (lot.supplier, lot.supplier_lot) == ("Compounded in house", lot_number)
        assert batch.status == "awaiting_release"
        with pytest.raises(NotPermitted, match="verified this batch's API weighing"):
            materials.approve_lot(user("rob"), barcode, signature("rob", "approved"))
        with pytest.raises(WrongState, match="not dispensed"):
            release.release(user("rhea"), lot_number, signature("rhea", "released"))
        materials.approve_lot(user("rhea"), barcode, signature("rhea", "approved"))
        assert materials.get_lot(barcode).status == "approved"
        assert batches.get_batch(lot_number).status == "released"
        events = [e.action for e in db.session.query(AuditEvent).filter_by(entity_key=lot_number)]
        assert "batch.released" in events


def test_an_intermediate_lot_is_not_approved_while_its_batch_misses_a_result(app, lots):
    with app.app_context():
        tina = user("tina")
        batch = batches.create_batch(
            tina, formula=TRITURATION_FORMULA, quantity_mg=10000, api_lot=lots["api"]
        )
        batches.record_component(
            tina, batch.lot_number, barcode=lots["api"], quantity_mg=1010.1, balance="XS205"
        )
        batches.record_component(
            tina, batch.lot_number, barcode=lots["mcc"], quantity_mg=8989.9, balance="XS205"
        )
        batches.verify_weighing(user("rob"), batch.lot_number, signature("rob", "verified"))
        done = batches.complete(tina, batch.lot_number, actual_yield=9950, storage_unit="SHELF-1")
        with pytest.raises(WrongState) as refused:
            materials.approve_lot(user("rhea"), done.produced_lot.barcode, signature("rhea", "approved"))
        assert "Missing or not passing: Appearance" in refused.value.message
        assert materials.get_lot(done.produced_lot.barcode).status == "quarantine"


def test_rejecting_the_intermediate_lot_rejects_its_batch(app, lots):
    with app.app_context():
        lot_number, barcode = make_trituration_lot(lots, "rhea", approve=False)
        materials.reject_lot(user("rhea"), barcode, signature("rhea", "rejected"), "lumps after sieving")
        assert batches.get_batch(lot_number).status == "rejected"


def test_a_half_milligram_batch_from_the_trituration(app, lots):
    with app.app_context():
        trit_batch, trit_lot = make_trituration_lot(lots, "rhea")
        tina = user("tina")
        batch = batches.create_batch(tina, formula=TRITURATED_CAPSULE, strength_mg=0.5, quantity=100)
        assert batch.calculation["api_lot"] == trit_lot
        assert batch.calculation["api_mg"] == 500.0
        assert batch.calculation["explanation"].startswith("100 capsules × 0.5 mg × 100 / 10.0 %")
        assert batch.bud == materials.get_lot(trit_lot).expiry_date  # capped by the trituration's BUD
        chain = triturations.batch_chain(batch)
        assert [link.lot.barcode for link in chain] == [trit_lot, lots["api"]]
        assert triturations.chain_text(chain, batch) == (
            f"{batch.lot_number} ← NTX-TRIT10 lot {trit_lot} (10 % w/w, made in batch {trit_batch}) "
            f"← NTX-HCL lot {lots['api']} (Medisca, supplier lot N1)"
        )
        batches.record_component(tina, batch.lot_number, barcode=trit_lot, quantity_mg=500.2, balance="XS205")
        uses = triturations.where_used(materials.get_lot(lots["api"]))
        assert [(u.lot_number, u.via) for u in uses] == [(trit_batch, []), (batch.lot_number, [trit_lot])]


def test_a_half_milligram_batch_straight_from_the_api_warns_and_the_weighing_is_refused(app, lots):
    with app.app_context():
        ada, tina = user("ada"), user("tina")
        from qa_app.services import balances

        balances.update_balance(ada, "UMX2", active=False, reason="sent for service")
        balances.create_balance(
            ada,
            code="AB204",
            name="Analytical balance",
            readability_mg=0.1,
            repeatability_sd_mg=0.05,
            capacity_g=220,
        )
        balances.record_check(tina, "AB204", nominal_mg=100000, observed_mg=100000.0)
        balances.update_balance(ada, "XS205", active=False, reason="sent for service")
        batch = batches.create_batch(tina, formula="LDN-CAP", strength_mg=0.5, quantity=100)
        warning = triturations.small_quantity(batch)
        assert warning is not None
        assert warning.message.startswith(
            "The API amount, 50.51 mg, is below the minimum weight of every balance usable today "
            "(the smallest is AB204: 100.0 mg, USP <41>)."
        )
        assert "LDN-CAP-T" in warning.message
        with pytest.raises(InvalidInput) as refused:
            batches.record_component(
                tina, batch.lot_number, barcode=lots["api"], quantity_mg=50.51, balance="AB204"
            )
        assert "quantity_mg" in refused.value.fields
        assert "trituration" in refused.value.message
        assert db.session.query(MaterialLot).count() >= 1


def test_the_record_and_the_certificate_name_the_chain_down_to_the_supplier_lot(app, lots):
    from qa_app.services import certificates, records, review

    with app.test_request_context():
        trit_batch, trit_lot = make_trituration_lot(lots, "rhea")
        tina = user("tina")
        batch = batches.create_batch(tina, formula=TRITURATED_CAPSULE, strength_mg=0.5, quantity=100)
        batches.record_component(tina, batch.lot_number, barcode=trit_lot, quantity_mg=500.2, balance="XS205")
        checked = review.load(batch.lot_number)
        record = records.record_content(checked, None)
        notes = [note for section in record.sections for note in section.notes]
        assert (
            f"API chain: {batch.lot_number} ← NTX-TRIT10 lot {trit_lot} (10 % w/w, made in batch {trit_batch}) "
            f"← NTX-HCL lot {lots['api']} (Medisca, supplier lot N1)"
        ) in notes
        certificate = certificates.content(checked)
        assert certificate.api_lot == (
            f"NTX-TRIT10 lot {trit_lot} (10 % w/w, made in batch {trit_batch}) "
            f"← NTX-HCL lot {lots['api']} (Medisca, supplier lot N1)"
        )
        assert certificate.api_supplier == "Medisca"
        trit_record = records.record_content(review.load(trit_batch), None)
        trit_notes = [note for section in trit_record.sections for note in section.notes]
        assert f"Made intermediate lot {trit_lot} (approved)." in trit_notes
