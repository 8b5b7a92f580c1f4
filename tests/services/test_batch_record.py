"""The batch record, service level: calculation, scans, verification, checks, completion."""

from datetime import UTC, date, datetime, timedelta

import pytest

from qa_app.errors import InvalidInput, NotPermitted, WrongState
from qa_app.services import batches, clock
from tests.builders import setup_master_data, signature, user


@pytest.fixture
def lots(app, users):
    with app.app_context():
        return setup_master_data(clock.today())


def test_a_capsule_batch_freezes_the_calculation_with_its_inputs(app, lots):
    with app.app_context():
        batch = batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100)
        assert batch.lot_number.startswith("LDN-")
        assert batch.status == "draft"
        assert batch.calculation["api_lot"] == lots["api"]
        assert batch.calculation["api_mg"] == 151.52
        assert batch.calculation["filler_mg"] == 22348.48
        assert batch.calculation["explanation"].startswith("100 capsules × 1.5 mg × 100 / 99.0 %")
        assert batch.specification["version"] == 1
        assert [t["key"] for t in batch.specification["tests"]] == [
            "assay",
            "content_uniformity",
            "appearance",
        ]
        assert (batch.bud - clock.today()).days == 179


def test_the_whole_draft_to_quarantine_path(app, lots):
    with app.app_context():
        tina = user("tina")
        batch = batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity=100)
        lot = batch.lot_number
        batches.record_component(
            tina, lot, barcode=f"\x1d{lots['api']}\r\n", quantity_mg=152.0, balance="XS205"
        )
        batches.record_component(tina, lot, barcode=lots["mcc"].lower(), quantity_mg=22348.0, balance="XS205")
        with pytest.raises(WrongState) as refused:
            batches.complete(tina, lot, actual_yield=98, storage_unit="SHELF-1")
        assert "second person must verify" in refused.value.message
        assert "record the container CAP-3" in refused.value.message
        batches.record_component(tina, lot, barcode=lots["caps"], count=102)
        with pytest.raises(NotPermitted):
            batches.verify_weighing(tina, lot, signature("tina", "verified"))
        batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
        failed = batches.record_weight_check(tina, lot, [225.0] * 9 + [200.0])
        assert failed.passed is False
        with pytest.raises(WrongState, match="last capsule weight check failed"):
            batches.complete(tina, lot, actual_yield=98, storage_unit="SHELF-1")
        passed = batches.record_weight_check(
            tina, lot, [224.0, 226.0] * 5, reason="one capsule under-filled; all re-filled"
        )
        assert passed.passed is True
        done = batches.complete(tina, lot, actual_yield=98, storage_unit="SHELF-1")
        assert (done.status, done.yield_percent, done.storage_unit.code) == ("quarantine", 98.0, "SHELF-1")
        assert [c.role for c in done.components] == ["api", "filler", "container"]
        assert done.components[0].deviation_percent == 0.32


def test_an_api_weighing_outside_the_tolerance_needs_a_reason(app, lots):
    with app.app_context():
        tina = user("tina")
        lot = batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number
        with pytest.raises(InvalidInput) as refused:
            batches.record_component(tina, lot, barcode=lots["api"], quantity_mg=155.0, balance="XS205")
        assert "deviation_reason" in refused.value.fields
        assert "+2.30 %" in refused.value.message
        row = batches.record_component(
            tina,
            lot,
            barcode=lots["api"],
            quantity_mg=155.0,
            balance="XS205",
            deviation_reason="spill recovered, reweighed",
        )
        assert (row.within_tolerance, row.deviation_percent) == (False, 2.3)


def test_scanning_another_api_lot_redoes_the_calculation(app, lots):
    with app.app_context():
        tina = user("tina")
        lot = batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number
        batches.record_component(tina, lot, barcode=lots["api2"], quantity_mg=153.06, balance="XS205")
        batch = batches.get_batch(lot)
        assert batch.calculation["api_lot"] == lots["api2"]
        assert batch.calculation["api_mg"] == 153.06  # 150 mg / 98.0 %


@pytest.mark.parametrize("strength", [0.4, 4.6, float("nan"), float("inf")])
def test_the_strength_guard_names_the_allowed_range(app, lots, strength):
    with app.app_context(), pytest.raises(InvalidInput) as refused:
        batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=strength, quantity=100)
    assert "strength_mg" in refused.value.fields


def test_a_wrong_material_or_an_unusable_lot_is_refused_at_the_scan(app, lots):
    with app.app_context():
        tina = user("tina")
        lot = batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number
        with pytest.raises(InvalidInput, match="does not use"):
            batches.record_component(tina, lot, barcode=lots["syrup"], quantity_mg=10.0, balance="XS205")
        with pytest.raises(InvalidInput, match="No such lot"):
            batches.record_component(tina, lot, barcode="GARBAGE-123", quantity_mg=10.0, balance="XS205")
        batches.record_component(tina, lot, barcode=lots["mcc"], quantity_mg=22348.0, balance="XS205")
        with pytest.raises(WrongState, match="already recorded"):
            batches.record_component(tina, lot, barcode=lots["mcc"], quantity_mg=1.0, balance="XS205")


def test_a_record_after_the_fact_keeps_its_time_but_never_the_future(app, lots):
    with app.app_context():
        tina = user("tina")
        yesterday = clock.utcnow() - timedelta(days=1)
        batch = batches.create_batch(
            tina, formula="LDN-CAP", strength_mg=1.5, quantity=100, compounded_at=yesterday
        )
        assert batch.compounded_at == yesterday
        with pytest.raises(InvalidInput) as refused:
            batches.create_batch(
                tina,
                formula="LDN-CAP",
                strength_mg=1.5,
                quantity=100,
                compounded_at=clock.utcnow() + timedelta(hours=1),
            )
        assert "compounded_at" in refused.value.fields


def test_lot_numbers_count_up_within_a_day(app, lots):
    with app.app_context():
        tina = user("tina")
        moment = datetime(2026, 11, 20, 15, 0, tzinfo=clock.zone())
        numbers = [
            batches.create_batch(
                tina, formula="LDN-CAP", strength_mg=1.5, quantity=10, compounded_at=moment
            ).lot_number
            for _ in range(3)
        ]
        assert numbers == ["LDN-261120-001", "LDN-261120-002", "LDN-261120-003"]


def test_a_liquid_batch_takes_concentration_and_dose_volume(app, lots):
    with app.app_context():
        batch = batches.create_batch(
            user("tina"), formula="LDN-LIQ", quantity=100, concentration=1.0, dose_amount=4.5
        )
        assert batch.strength_mg == 4.5
        assert batch.calculation["api_mg"] == 101.01  # 100 mg / 99.0 %
        assert batch.bud == clock.today() + timedelta(days=59)
        assert batch.bud_reason == "60 days (Fawcett et al., Ann Pharmacother 1997)"


def test_discarding_a_draft_needs_a_reason(app, lots):
    with app.app_context():
        tina = user("tina")
        lot = batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number
        with pytest.raises(InvalidInput):
            batches.discard(tina, lot, "  ")
        assert batches.discard(tina, lot, "wrong filler opened").status == "discarded"
        with pytest.raises(WrongState):
            batches.discard(tina, lot, "again")


def test_dates_here_are_real_dates(app):
    assert date(2026, 11, 25) + timedelta(days=179) == date(2027, 5, 23)


def test_lot_numbers_never_collide_when_batches_are_opened_at_the_same_moment(app, lots):
    """Six workstations open four batches each at once: 24 distinct numbers, 001 to 024."""
    import threading

    from qa_app.extensions import db

    writers, per_writer = 6, 4
    start = threading.Barrier(writers)
    numbers: list[str] = []
    errors: list[BaseException] = []
    moment = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # the test pharmacy keeps UTC

    def open_batches() -> None:
        try:
            with app.app_context():
                start.wait()
                for _ in range(per_writer):
                    batch = batches.create_batch(
                        user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=10, compounded_at=moment
                    )
                    numbers.append(batch.lot_number)
                db.session.remove()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_batches) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(numbers) == [f"LDN-261121-{n:03d}" for n in range(1, writers * per_writer + 1)]
