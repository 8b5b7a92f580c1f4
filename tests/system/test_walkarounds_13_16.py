"""Ways round the trituration and recall rules that need two people at the same moment (run on
PostgreSQL with TEST_DATABASE_URL; on SQLite the write lock taken at BEGIN queues everything)."""

import threading
import time

import pytest

from qa_app.extensions import db
from qa_app.services import balances, batches, clock, materials, recalls
from tests.builders import setup_master_data, signature, user
from tests.conftest import make_user
from tests.triturations import TRITURATED_CAPSULE, make_trituration_lot, setup_trituration_formulas


@pytest.fixture
def made(app, users):
    """An approved 10 % trituration lot and a draft of 0.5 mg capsules waiting to weigh it."""
    make_user(app, "rhea", ("reviewer",), "Rhea Reviewer, PharmD")
    with app.app_context():
        lots = setup_master_data(clock.today())
        setup_trituration_formulas()
        _trit_batch, trit_lot = make_trituration_lot(lots, "rhea")
        draft = batches.create_batch(
            user("tina"), formula=TRITURATED_CAPSULE, strength_mg=0.5, quantity=100, api_lot=trit_lot
        )
        made = {
            **lots,
            "trit_lot": trit_lot,
            "draft": draft.lot_number,
            "api_mg": draft.calculation["api_mg"],
        }
        db.session.commit()
        return made


def test_a_recall_while_the_trituration_lot_is_being_weighed_holds_the_batch_it_went_into(
    app, made, monkeypatch
):
    """Tina scans the trituration lot into her capsule batch; while her weighing is being written,
    Rob recalls the supplier's API lot the trituration was made from. Whichever comes first, the
    capsule batch ends on hold (or the weighing is refused): a batch holding recalled material is
    never left a plain draft, outside the recall's signed list."""
    weighing = threading.Event()
    original = balances.gate

    def slow_gate(code, quantity_mg):
        found = original(code, quantity_mg)
        weighing.set()  # the trituration lot is locked and judged usable: the weighing is under way
        time.sleep(1.5)
        return found

    monkeypatch.setattr(balances, "gate", slow_gate)
    outcome: dict = {}

    def weigh() -> None:
        with app.app_context():
            try:
                batches.record_component(
                    user("tina"), made["draft"], barcode=made["trit_lot"], quantity_mg=made["api_mg"],
                    balance="XS205",
                )  # fmt: skip
                outcome["weighed"] = True
            except Exception as exc:  # noqa: BLE001 (a refusal is an acceptable end)
                db.session.rollback()
                outcome["weighed"] = exc

    def recall() -> None:
        assert weighing.wait(timeout=30)
        with app.app_context():
            done = recalls.recall_lot(
                user("rob"), made["api"], signature("rob", "recalled"), "Medisca recall notice R-77"
            )
            outcome["held"] = done.held

    threads = [threading.Thread(target=weigh), threading.Thread(target=recall)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    with app.app_context():
        assert materials.get_lot(made["trit_lot"]).status == "recalled"
        if outcome["weighed"] is True:
            assert batches.get_batch(made["draft"]).status == "on_hold"
            assert made["draft"] in outcome["held"]
