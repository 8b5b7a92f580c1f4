"""Excursions as records: found when readings arrive, acknowledged, and the batches they hold.

An excursion that needs disposition (domain.md §6) holds every unreleased batch that was in
the unit during it, until a reviewer records a signed disposition for that batch: acceptable
lifts the hold, reject rejects the batch. Allowable excursions hold nothing.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from qa_app.domain import temperature
from qa_app.errors import InvalidInput, NotFound, WrongState
from qa_app.extensions import db
from qa_app.models import DECISIONS, BatchDecision, Disposition, Excursion, Reading, StorageUnit, User
from qa_app.services import alerts, audit, clock, judgement, readings, signatures
from qa_app.services.accounts import require_role
from qa_app.services.signatures import SignatureInput
from qa_app.services.stays import batches_during, batches_during_each, covered, dispositions_for, for_batch

AUDITED = ("start", "end", "min_c", "max_c", "classification", "gap_minutes")
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
KEPT = "Later readings would not show this any more, but late data never lift a hold."


def excursion_state(excursion: Excursion) -> dict[str, Any]:
    return {
        "storage_unit": excursion.storage_unit.code,
        "start": excursion.start,
        "end": excursion.end,
        "duration_minutes": round(excursion.duration_minutes, 1),
        "min_c": excursion.min_c,
        "max_c": excursion.max_c,
        "mkt_c": excursion.mkt_c,
        "classification": excursion.classification,
        "gap_minutes": round(excursion.gap_minutes or 0.0, 1),
    }


def get(excursion_id: int, for_update: bool = False) -> Excursion:
    """The excursion; ``for_update`` locks its row (``SELECT … FOR UPDATE``; on SQLite the write
    lock taken at BEGIN) and reads it afresh, so two decisions on it queue and the second sees
    the first."""
    if for_update:
        # Lock the row alone, then read it with its joins: a statement that waited for the lock
        # sees the row as committed but its joined rows as they were when it began.
        locked = db.session.scalar(
            sa.select(Excursion.id).where(Excursion.id == excursion_id).with_for_update()
        )
        excursion = None if locked is None else db.session.get(Excursion, locked, populate_existing=True)
    else:
        excursion = db.session.get(Excursion, excursion_id)
    if excursion is None:
        raise NotFound(f"No excursion {excursion_id}.", {"excursion_id": "Unknown excursion."})
    return excursion


def _stored(unit: StorageUnit, lo: datetime, hi: datetime) -> list[Excursion]:
    stmt = (
        sa.select(Excursion)
        .where(Excursion.storage_unit_id == unit.id, Excursion.withdrawn_at.is_(None), Excursion.start <= hi)
        .where(sa.or_(Excursion.end.is_(None), Excursion.end >= lo))
        .order_by(Excursion.start)
    )
    return list(db.session.scalars(stmt))


def _last_inside_before(unit: StorageUnit, moment: datetime) -> datetime | None:
    return db.session.scalar(
        sa.select(sa.func.max(Reading.at)).where(
            Reading.storage_unit_id == unit.id,
            Reading.at < moment,
            Reading.temperature_c >= unit.min_c,
            Reading.temperature_c <= unit.max_c,
        )
    )


def _on_record(excursions: list[Excursion]) -> set[int]:
    """Ids of the excursions later readings may no longer shrink (domain.md §6, late data never
    lifts a hold): acknowledged ones, and those needing a disposition that hold or held a batch."""
    fixed = {e.id for e in excursions if e.acknowledged_at is not None}
    judged = [
        e for e in excursions if e.id not in fixed and e.classification == temperature.NEEDS_DISPOSITION
    ]
    if judged:
        during = batches_during_each(judged)
        fixed.update(e.id for e in judged if during[e.id])
    return fixed


def _fixed(unit: StorageUnit, lo: datetime | None, hi: datetime | None) -> list[Excursion]:
    """The unit's excursions in ``[lo, hi]`` (open ends unbounded) that may no longer shrink."""
    on_record = _stored(unit, lo or EARLIEST, hi or LATEST)
    fixed_ids = _on_record(on_record)
    return [e for e in on_record if e.id in fixed_ids]


def _spans(excursions: list[Excursion]) -> list[tuple[float, float]]:
    """``[start, stop)`` in epoch seconds: to the end reading, or just past the last reading while open."""
    return [
        (
            e.start.timestamp(),
            e.end.timestamp() if e.end is not None else e.last_reading_at.timestamp() + 1e-3,
        )
        for e in excursions
    ]


def alarm_delay(unit: StorageUnit) -> int:
    """The unit's alarm delay as it counts: never more than an hour, also for a unit set up
    before that limit."""
    return min(unit.alarm_delay_minutes, temperature.MAX_ALARM_DELAY_MINUTES)


def _search(
    unit: StorageUnit,
    lo: datetime | None,
    hi: datetime | None,
    known: readings.Known | None,
    fixed: list[Excursion] = (),  # type: ignore[assignment]
):
    t, v = readings.series(unit, lo, hi, known)
    found = temperature.find_excursions(
        t, v, unit.min_c, unit.max_c, alarm_delay(unit), condition=unit.condition, known=_spans(fixed)
    )
    return t, v, found


def refresh(
    unit: StorageUnit,
    first: datetime,
    last: datetime,
    actor: User | None,
    username: str | None = None,
    known: readings.Known | None = None,
):
    """Find the unit's excursions again over the span readings in ``[first, last]`` can change,
    bring the stored records in line (auditing every change) and judge the batches touched."""
    margin = 2 * max(timedelta(minutes=alarm_delay(unit)), timedelta(hours=1))
    lo: datetime | None = first - margin
    hi: datetime | None = last + margin
    stored = _stored(unit, lo, hi)
    if stored:
        lo = min(lo, stored[0].start)
        hi = None if any(s.end is None for s in stored) else max(hi, max(s.end for s in stored))
    lo = _last_inside_before(unit, lo)  # start from a reading inside, never mid-run
    fixed = _fixed(unit, lo, hi)
    t, v, found = _search(unit, lo, hi, known, fixed)
    if hi is not None and found and found[-1].is_open and readings.neighbour(unit, hi, after=True):
        hi = None
        fixed = _fixed(unit, lo, hi)
        t, v, found = _search(unit, lo, hi, known, fixed)
    if t.size == 0:
        return
    span_start = readings.epoch_to_datetime(t[0])
    stored = _stored(unit, span_start, readings.epoch_to_datetime(t[-1]))
    touched = _reconcile(unit, stored, t, v, found, actor, username, {e.id for e in fixed})
    for excursion in touched:
        if excursion.needs_disposition:
            _alert(excursion)
        for batch in batches_during(excursion):
            judgement.judge(actor, batch, username)


def _alert(excursion: Excursion) -> None:
    """An "excursion" e-mail alert, written with the excursion that needs a disposition."""
    unit = excursion.storage_unit
    span = f"from {alerts.local_text(excursion.start)}" + (
        f" to {alerts.local_text(excursion.end)}" if excursion.end else " and still going on"
    )
    alerts.raise_alert(
        "excursion",
        f"excursion:{excursion.id}",
        f"Temperature excursion {excursion.id} in {unit.name} needs a disposition",
        f"Storage unit {unit.name} ({unit.code}, limits {unit.min_c:g} to {unit.max_c:g} °C) was outside "
        f"its range {span}: lowest {excursion.min_c:.1f} °C, highest {excursion.max_c:.1f} °C, "
        f"{excursion.duration_minutes:.0f} minutes. {excursion.reason or ''}".rstrip()
        + "\nEvery unreleased batch stored there during it is on hold until a reviewer records a disposition.",
        f"/storage/excursions/{excursion.id}",
    )


def _measure(unit: StorageUnit, t, v, found: temperature.Excursion) -> dict[str, Any]:
    last_index = found.stop_index if not found.is_open else t.size - 1
    until = readings.epoch_to_datetime(t[last_index])
    mkt = None
    condition = temperature.CONDITIONS[unit.condition]
    if condition.mkt_window is not None:
        window_start = min(until - condition.mkt_window, found.start)
        mkt = readings.summarise_window(unit, window_start, until).mkt_c
    unobserved = temperature.gap_minutes(t, found)
    classification, reason = temperature.judge_excursion(unit.condition, t, v, found, mkt, unobserved)
    return {
        "start": found.start,
        "end": found.end,
        "last_reading_at": until,
        "duration_minutes": found.duration_minutes,
        "min_c": found.min_c,
        "max_c": found.max_c,
        "mkt_c": mkt,
        "classification": classification,
        "reason": reason,
        "gap_minutes": unobserved,
    }


def _reconcile(unit, stored, t, v, found, actor, username, fixed: set[int] = frozenset()) -> list[Excursion]:
    """Match found excursions to stored ones by overlap; create, update or withdraw.

    Excursions in ``fixed`` (:func:`_on_record`) were searched as known spans, so each is found
    again whole or longer; here they keep their classification and are never withdrawn."""
    used: set[int] = set()
    touched: list[Excursion] = []
    for item in found:
        values = _measure(unit, t, v, item)
        overlapping = [
            s
            for s in stored
            if s.id not in used and s.start <= values["last_reading_at"] and s.until >= item.start
        ]
        if overlapping:
            kept = [s for s in overlapping if s.id in fixed]
            excursion = kept[0] if kept else overlapping[0]
            held = [s for s in kept if s.classification == temperature.NEEDS_DISPOSITION]
            if held and values["classification"] != temperature.NEEDS_DISPOSITION:
                values["classification"] = temperature.NEEDS_DISPOSITION
                values["reason"] = f"{(held[0].reason or 'Needs disposition.').split(KEPT)[0].strip()} {KEPT}"
            used.update(s.id for s in overlapping)
            for other in [s for s in overlapping if s is not excursion]:
                _withdraw(other, f"Later readings join it to excursion {excursion.id}.", actor, username)
                touched.append(other)
            before = excursion_state(excursion)
            for name, value in values.items():
                setattr(excursion, name, value)
            after = excursion_state(excursion)
            if any(before[k] != after[k] for k in AUDITED) or (excursion.end is not None and before != after):
                audit.record(
                    "excursion.updated", "excursion", excursion.id, actor=actor, username=username,
                    old=before, new=after, reason="Readings arrived that change it.",
                )  # fmt: skip
                touched.append(excursion)
        else:
            excursion = Excursion(storage_unit=unit, **values)
            db.session.add(excursion)
            db.session.flush()
            audit.record(
                "excursion.detected", "excursion", excursion.id, actor=actor, username=username,
                new=excursion_state(excursion),
            )  # fmt: skip
            touched.append(excursion)
    for excursion in stored:
        if excursion.id not in used and excursion.id not in fixed:
            _withdraw(excursion, "Later readings show the unit within its limits here.", actor, username)
            touched.append(excursion)
    return touched


def _withdraw(excursion: Excursion, reason: str, actor: User | None, username: str | None) -> None:
    excursion.withdrawn_at, excursion.withdrawn_reason = clock.utcnow(), reason
    audit.record(
        "excursion.withdrawn", "excursion", excursion.id, actor=actor, username=username,
        old=excursion_state(excursion), reason=reason,
    )  # fmt: skip


def acknowledge(actor: User, excursion_id: int, comment: str) -> Excursion:
    """A reviewer has seen the excursion and says what was done (audited)."""
    require_role(actor, "reviewer")
    excursion = get(excursion_id, for_update=True)
    comment = (comment or "").strip()
    if not comment:
        raise InvalidInput("Say what was found or done.", {"comment": "Required."})
    if excursion.acknowledged_at is not None:
        raise WrongState(
            f"Excursion {excursion.id} was acknowledged already by {excursion.acknowledged_by.username}."
        )
    excursion.acknowledged_by_id, excursion.acknowledged_at = actor.id, clock.utcnow()
    excursion.acknowledgement = comment
    audit.record("excursion.acknowledged", "excursion", excursion.id, actor=actor, new={"comment": comment})
    db.session.commit()
    return excursion


@dataclass(frozen=True)
class DispositionInput:
    excursion_id: int
    decision: str
    comment: str


def record_disposition(
    actor: User, lot_number: str, given: DispositionInput, signature: SignatureInput
) -> Disposition:
    """A reviewer's signed decision for one batch on one excursion (meaning ``reviewed``)."""
    from qa_app.services import batches

    require_role(actor, "reviewer")
    batch = batches.get_batch(lot_number, for_update=True)
    excursion = get(given.excursion_id, for_update=True)
    comment = (given.comment or "").strip()
    fields = {}
    if given.decision not in DECISIONS:
        fields["decision"] = "Use acceptable or reject."
    if not comment:
        fields["comment"] = "Give the justification, e.g. the MKT and how long it lasted."
    if fields:
        raise InvalidInput("The disposition was not recorded: correct the marked fields.", fields)
    if excursion.id not in {e.id for e in for_batch(batch.id)}:
        raise WrongState(
            f"Batch {batch.lot_number} was not in {excursion.storage_unit.code} during excursion {excursion.id}."
        )
    if not excursion.needs_disposition:
        raise WrongState(f"Excursion {excursion.id} is allowable: it needs no disposition.")
    earlier = dispositions_for(batch.id).get(excursion.id)
    if covered(earlier, excursion):
        raise WrongState(
            f"A disposition for batch {batch.lot_number} on excursion {excursion.id} exists already."
        )
    if batch.status not in judgement.JUDGED_STATES:
        raise WrongState(
            f"Batch {batch.lot_number} is {batch.status}; a disposition is for an unreleased batch."
        )
    if (
        given.decision == "acceptable"
        and excursion.ongoing
        and batch.storage_unit_id == excursion.storage_unit_id
    ):
        raise WrongState(
            f"Excursion {excursion.id} is still going on and the batch is still in {excursion.storage_unit.code}: "
            "move it or wait for the unit to return to its range before accepting it."
        )
    content = {
        "excursion": excursion_state(excursion) | {"id": excursion.id},
        "decision": given.decision,
        "comment": comment,
    }
    sig = signatures.sign(
        actor, signature, action="record_disposition", entity_type="batch", entity_key=batch.lot_number,
        content=content,
    )  # fmt: skip
    disposition = Disposition(
        batch_id=batch.id, excursion_id=excursion.id, decision=given.decision, comment=comment,
        decided_by_id=actor.id, signature_id=sig.id,
        covered_min_c=excursion.min_c, covered_max_c=excursion.max_c,
    )  # fmt: skip
    db.session.add(disposition)
    audit.record(
        "batch.disposition_recorded", "batch", batch.lot_number, actor=actor,
        new={"excursion_id": excursion.id, "decision": given.decision, "comment": comment},
    )  # fmt: skip
    if given.decision == "reject":
        reason = f"Rejected on excursion {excursion.id}: {comment}"
        audit.record(
            "batch.status_changed", "batch", batch.lot_number, actor=actor,
            old={"status": batch.status}, new={"status": "rejected"}, reason=reason,
        )  # fmt: skip
        batch.status = "rejected"
        db.session.add(  # the batch's decision record, signed by the disposition
            BatchDecision(
                batch_id=batch.id,
                decision="rejected",
                reason=reason,
                decided_by_id=actor.id,
                signature_id=sig.id,
            )
        )
    else:
        judgement.judge(actor, batch)
    db.session.commit()
    return disposition


def states(found: list[Excursion], during: dict[int, list] | None = None) -> dict[int, str]:
    """Where each excursion stands for a person: ``allowable``, ``needs_disposition`` while a
    batch it holds waits for a decision (or none was taken yet), ``dispositioned`` once every
    batch it held has a signed disposition that covers it, or ``withdrawn``."""
    if not found:
        return {}
    during = during if during is not None else batches_during_each(found)
    decided = {
        (d.excursion_id, d.batch_id): d
        for d in db.session.scalars(
            sa.select(Disposition)
            .where(Disposition.excursion_id.in_([e.id for e in found]))
            .order_by(Disposition.id)
        )
    }
    result = {}
    for e in found:
        if e.withdrawn_at is not None:
            result[e.id] = "withdrawn"
        elif e.classification != temperature.NEEDS_DISPOSITION:
            result[e.id] = "allowable"
        else:
            signed = [decided[(e.id, b.id)] for b in during.get(e.id, []) if (e.id, b.id) in decided]
            owed = [
                b
                for b in during.get(e.id, [])
                if b.status in judgement.JUDGED_STATES and not covered(decided.get((e.id, b.id)), e)
            ]
            result[e.id] = "dispositioned" if signed and not owed else "needs_disposition"
    return result


def list_statement(storage_unit: str | None = None, open_only: bool | None = None) -> sa.Select:
    """Excursions newest first; ``open_only`` keeps those not yet acknowledged (or only those)."""
    stmt = sa.select(Excursion).where(Excursion.withdrawn_at.is_(None))
    if storage_unit:
        from qa_app.services import storage

        stmt = stmt.where(Excursion.storage_unit_id == storage.get_unit(storage_unit).id)
    if open_only is True:
        stmt = stmt.where(Excursion.acknowledged_at.is_(None))
    elif open_only is False:
        stmt = stmt.where(Excursion.acknowledged_at.is_not(None))
    return stmt.order_by(Excursion.start.desc(), Excursion.id.desc())


def overlapping(unit: StorageUnit, start: datetime, end: datetime) -> sa.Select:
    """The unit's excursions that overlap ``[start, end]``, oldest first."""
    return (
        sa.select(Excursion)
        .where(Excursion.storage_unit_id == unit.id, Excursion.withdrawn_at.is_(None), Excursion.start <= end)
        .where(sa.func.coalesce(Excursion.end, Excursion.last_reading_at) >= start)
        .order_by(Excursion.start)
    )
