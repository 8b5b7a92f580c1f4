"""Set-up for lot recalls: the supplier's API lot, a 10 % trituration made from it, and batches
made from each (needs the users of every role; adds rhea, a second reviewer, and rita, who
releases)."""

from dataclasses import dataclass

from flask import Flask

from qa_app.extensions import db
from qa_app.services import batches, clock, release, results
from tests.api.test_results_api import VECTOR_A
from tests.builders import setup_master_data, signature, user
from tests.conftest import make_user
from tests.triturations import TRITURATED_CAPSULE, make_trituration_lot, setup_trituration_formulas

REASON = "Medisca recall notice R-77: particulates"


@dataclass(frozen=True)
class Scenario:
    api: str
    """The supplier's API lot (Medisca, supplier lot N1)."""
    trituration_batch: str
    trituration_lot: str
    released: str
    """0.5 mg capsules from the trituration, released with certificate ``certificate``."""
    certificate: str
    verification_code: str
    quarantined: str
    """0.5 mg capsules from the trituration, completed, waiting for results."""
    draft: str
    """0.5 mg capsules from the trituration, the trituration weighed, not completed."""
    direct: str
    """1.5 mg capsules weighed straight from the API lot, completed (quarantine)."""
    lots: dict[str, str]


def add_reviewers(app: Flask) -> None:
    make_user(app, "rhea", ("reviewer",), "Rhea Reviewer, PharmD")
    make_user(app, "rita", ("reviewer",), "Rita Release, PharmD")


def _capsules(
    formula: str, strength: float, api_barcode: str, lots: dict[str, str], complete: bool = True
) -> str:
    tina = user("tina")
    batch = batches.create_batch(
        tina, formula=formula, strength_mg=strength, quantity=100, api_lot=api_barcode
    )
    lot, calculation = batch.lot_number, batch.calculation
    batches.record_component(
        tina, lot, barcode=api_barcode, quantity_mg=calculation["api_mg"], balance="XS205"
    )
    if not complete:
        return lot
    batches.record_component(
        tina, lot, barcode=lots["mcc"], quantity_mg=calculation["filler_mg"], balance="XS205"
    )
    batches.record_component(tina, lot, barcode=lots["caps"], count=100)
    batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
    batches.record_weight_check(tina, lot, [225.0] * 10)
    batches.complete(tina, lot, actual_yield=100, storage_unit="SHELF-1")
    return lot


def pass_every_test(lot: str) -> None:
    tina = user("tina")
    results.record_result(tina, lot, test="assay", value=99.8, method="HPLC-UV")
    results.record_result(tina, lot, test="content_uniformity", values=VECTOR_A)
    results.record_result(tina, lot, test="appearance", value="Conforms")


def build(app: Flask) -> Scenario:
    """Everything a recall of the API lot reaches: through the trituration a released batch (one
    certificate), one in quarantine and a draft; straight from the API lot one in quarantine."""
    add_reviewers(app)
    with app.app_context():
        lots = setup_master_data(clock.today())
        setup_trituration_formulas()
        trit_batch, trit_lot = make_trituration_lot(lots, "rhea")
        released = _capsules(TRITURATED_CAPSULE, 0.5, trit_lot, lots)
        pass_every_test(released)
        certificate = release.release(user("rita"), released, signature("rita", "released"))
        quarantined = _capsules(TRITURATED_CAPSULE, 0.5, trit_lot, lots)
        draft = _capsules(TRITURATED_CAPSULE, 0.5, trit_lot, lots, complete=False)
        direct = _capsules("LDN-CAP", 1.5, lots["api"], lots)
        scenario = Scenario(
            api=lots["api"],
            trituration_batch=trit_batch,
            trituration_lot=trit_lot,
            released=released,
            certificate=certificate.number,
            verification_code=certificate.verification_code,
            quarantined=quarantined,
            draft=draft,
            direct=direct,
            lots=lots,
        )
        db.session.commit()
        return scenario
