"""Fresh records in every state an endpoint acts on, made through the services like a user would.

An action that succeeds may use its record up (a batch is released once), so the hostile-input
tests ask for a fresh one after every success. Call these inside an app context.
"""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import Excursion, TrendSignal
from qa_app.services import (
    accounts,
    batches,
    formulas,
    investigations,
    materials,
    readings,
    release,
    results,
    storage,
)
from qa_app.services.readings import RowInput
from tests.builders import capsule_formula_body, signature, user
from tests.conftest import PASSWORD

CU_PASSING = [98.0, 99.5, 101.2, 100.4, 97.8, 102.1, 99.9, 100.6, 98.7, 101.0]
RELEASER = "rita"  # a reviewer who compounds and verifies nothing, so she may release
FIVE_MINUTES = timedelta(minutes=5)
_serial = itertools.count(1)


def unique(prefix: str) -> str:
    """A code no other record of the run has."""
    return f"{prefix}{next(_serial)}"


@dataclass(frozen=True)
class Records:
    """Makes records; ``lots`` are the approved material lots of ``setup_master_data``."""

    lots: dict[str, str]

    def draft(self, compounded_at: datetime | None = None) -> str:
        batch = batches.create_batch(
            user("tina"),
            formula="LDN-CAP",
            strength_mg=1.5,
            quantity=100,
            api_lot=self.lots["api"],
            compounded_at=compounded_at,
        )
        db.session.commit()
        return batch.lot_number

    def weighed(self, compounded_at: datetime | None = None) -> str:
        """A draft whose API, filler and capsule shells are recorded."""
        lot = self.draft(compounded_at)
        tina, calculation = user("tina"), batches.get_batch(lot).calculation
        batches.record_component(
            tina, lot, barcode=self.lots["api"], quantity_mg=calculation["api_mg"], balance="XS205"
        )
        batches.record_component(
            tina, lot, barcode=self.lots["mcc"], quantity_mg=calculation["filler_mg"], balance="XS205"
        )
        batches.record_component(tina, lot, barcode=self.lots["caps"], count=100)
        db.session.commit()
        return lot

    def ready_to_complete(self, compounded_at: datetime | None = None) -> str:
        lot = self.weighed(compounded_at)
        batches.verify_weighing(user("rob"), lot, signature("rob", "verified"))
        batches.record_weight_check(user("tina"), lot, [225.0] * 10)
        db.session.commit()
        return lot

    def quarantined(self, unit: str = "SHELF-1", placed: datetime | None = None) -> str:
        lot = self.ready_to_complete(placed)
        batches.complete(user("tina"), lot, actual_yield=100, storage_unit=unit, at=placed)
        db.session.commit()
        return lot

    def failing(self) -> tuple[str, int]:
        """A batch on hold for a failing assay: (lot number, the failing result's id)."""
        lot = self.quarantined()
        failed = results.record_result(user("tina"), lot, test="assay", value=80.0)
        db.session.commit()
        return lot, failed.id

    def investigation(self) -> tuple[str, int]:
        """An open OOS investigation: (lot number, its id)."""
        lot, result_id = self.failing()
        opened = investigations.open_investigation(user("rob"), lot, result_id=result_id, retests_allowed=1)
        db.session.commit()
        return lot, opened.id

    def awaiting_release(self) -> str:
        lot = self.quarantined()
        tina = user("tina")
        results.record_result(tina, lot, test="assay", value=99.8)
        results.record_result(tina, lot, test="content_uniformity", values=CU_PASSING)
        results.record_result(tina, lot, test="appearance", value="Conforms")
        db.session.commit()
        return lot

    def released(self) -> tuple[str, str]:
        """A released batch: (lot number, certificate number)."""
        lot = self.awaiting_release()
        certificate = release.release(user(RELEASER), lot, signature(RELEASER, "released"))
        db.session.commit()
        return lot, certificate.number

    def trend_signal(self) -> int:
        """An open trend signal of LDN-CAP 1.5 mg at a draft of its own (set-up: stored directly,
        as the trend of real results would store it): its id."""
        lot = self.draft()
        batch = batches.get_batch(lot)
        signal = TrendSignal(
            formula_id=batch.formula_version.formula_id,
            strength_mg=1.5,
            attribute="assay",
            rule=1,
            batch_id=batch.id,
            description="A point above the upper control limit (more than 3 sigma).",
        )
        db.session.add(signal)
        db.session.commit()
        return signal.id

    def excursion(self) -> tuple[str, int, datetime]:
        """A room unit of its own with an hour at 45 °C two days ago: (unit, excursion id, its start)."""
        code = unique("FZ-")
        storage.create_unit(user("ada"), code=code, name=f"Shelf {code}", condition="room")
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
        temps = [22.0] * 12 + [45.0] * 12 + [22.0] * 12
        rows = [RowInput(i + 1, (start + i * FIVE_MINUTES).isoformat(), t) for i, t in enumerate(temps)]
        readings.ingest(code, rows, source="csv", actor=user("tina"))
        db.session.commit()
        unit_id = storage.get_unit(code).id
        found = db.session.scalar(sa.select(Excursion).where(Excursion.storage_unit_id == unit_id))
        assert found is not None, "an hour at 45 °C on a room shelf is an excursion"
        return code, found.id, found.start

    def held_by_excursion(self) -> tuple[str, str, int]:
        """A batch placed in a refrigerator during its excursion: (unit, lot number, excursion id)."""
        code, excursion_id, start = self.excursion()
        lot = self.quarantined(unit=code, placed=start + timedelta(minutes=30))
        return code, lot, excursion_id

    def material_lot(self) -> str:
        """A lot of the API received and waiting in quarantine: its barcode."""
        lot = materials.receive_lot(
            user("tina"),
            material="NTX-HCL",
            supplier="Medisca",
            supplier_lot=unique("N"),
            expiry_date=datetime.now(UTC).date() + timedelta(days=700),
            assay_percent=99.0,
        )
        db.session.commit()
        return lot.barcode

    def draft_formula(self, *drop: str, **changes: Any) -> str:
        """A capsule formula (``changes`` and ``drop`` make it another), version 1 in draft."""
        body = capsule_formula_body(**{**changes, "code": unique("FZ-")})
        for name in drop:
            del body[name]
        formulas.create_formula(user("ada"), body)
        db.session.commit()
        return body["code"]

    def approved_formula(self, *drop: str, **changes: Any) -> str:
        code = self.draft_formula(*drop, **changes)
        formulas.approve_formula(user("rob"), code, signature("rob", "approved"))
        db.session.commit()
        return code

    def formula_with_batch(self) -> str:
        """An approved capsule formula with one draft batch made this year: a year to review."""
        code = self.approved_formula()
        batches.create_batch(user("tina"), formula=code, strength_mg=1.5, quantity=100)
        db.session.commit()
        return code

    def cream_formula(self) -> str:
        """An approved cream, dosed in g at a concentration in mg/g."""
        return self.approved_formula(
            "fill_weight_mg",
            "capsule_size",
            name="Naltrexone HCl cream 1 mg/g",
            dosage_form="cream",
            components=[{"material": "NTX-HCL", "role": "api"}, {"material": "SYRUP", "role": "vehicle"}],
        )

    def account(self, *, active: bool = True, locked: bool = False) -> str:
        """A technician's account of its own (deactivated or locked out if asked)."""
        username = unique("fuzz-user-")
        made = accounts.create_user(
            user("ada"), username=username, full_name="Fuzz User", roles=["technician"], password=PASSWORD
        )
        if not active:
            accounts.set_active(user("ada"), username, False, reason="Left")
        if locked:
            made.locked_until = datetime.now(UTC) + timedelta(minutes=15)
        db.session.commit()
        return username
