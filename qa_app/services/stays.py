"""Where batches were and when, joined to the excursions of those units.

A batch is in a unit from its placement (completion or a move) until its next placement.
"""

import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import Batch, BatchLocation, Disposition, Excursion
from qa_app.models.types import UTCDateTime


def stays_subquery(
    *,
    batch_id: int | None = None,
    storage_unit_ids: set[int] | None = None,
    batch_ids: list[int] | None = None,
):
    """Each placement with the time the batch left that unit (``NULL`` while it is there),
    for one batch, for several, or for the batches ever placed in one unit."""
    stmt = sa.select(
        BatchLocation.batch_id,
        BatchLocation.storage_unit_id,
        BatchLocation.placed_at,
        sa.func.lead(BatchLocation.placed_at, type_=UTCDateTime())
        .over(partition_by=BatchLocation.batch_id, order_by=(BatchLocation.placed_at, BatchLocation.id))
        .label("left_at"),
    )
    if batch_id is not None:
        stmt = stmt.where(BatchLocation.batch_id == batch_id)
    if batch_ids is not None:
        stmt = stmt.where(BatchLocation.batch_id.in_(batch_ids))
    if storage_unit_ids is not None:
        placed = sa.select(BatchLocation.batch_id).where(BatchLocation.storage_unit_id.in_(storage_unit_ids))
        stmt = stmt.where(BatchLocation.batch_id.in_(placed))
    return stmt.subquery()


def batches_during(excursion: Excursion) -> list[Batch]:
    """Every batch that was in the unit at any time during the excursion, released ones included.

    While an excursion goes on, a batch put into the unit joins it.
    """
    return batches_during_each([excursion])[excursion.id]


def for_batch(batch_id: int) -> list[Excursion]:
    """Excursions (not withdrawn) in the units the batch was in, while it was there."""
    return for_batches([batch_id])[batch_id]


def for_batches(batch_ids: list[int]) -> dict[int, list[Excursion]]:
    """:func:`for_batch` for several batches in one statement, by batch id."""
    stays = stays_subquery(batch_ids=batch_ids)
    stmt = (
        sa.select(stays.c.batch_id, Excursion)
        .join(stays, stays.c.storage_unit_id == Excursion.storage_unit_id)
        .where(Excursion.withdrawn_at.is_(None))
        .where(sa.or_(Excursion.end.is_(None), stays.c.placed_at <= Excursion.end))
        .where(sa.or_(stays.c.left_at.is_(None), stays.c.left_at > Excursion.start))
        .order_by(stays.c.batch_id, Excursion.start, Excursion.id)
    )
    found: dict[int, list[Excursion]] = {i: [] for i in batch_ids}
    for batch_id, excursion in db.session.execute(stmt):
        if excursion not in found[batch_id]:
            found[batch_id].append(excursion)
    return found


def dispositions_for(batch_id: int) -> dict[int, Disposition]:
    """The batch's latest disposition per excursion, by excursion id."""
    return dispositions_for_each([batch_id])[batch_id]


def dispositions_for_each(batch_ids: list[int]) -> dict[int, dict[int, Disposition]]:
    """:func:`dispositions_for` for several batches in one statement, by batch id."""
    stmt = sa.select(Disposition).where(Disposition.batch_id.in_(batch_ids)).order_by(Disposition.id)
    found: dict[int, dict[int, Disposition]] = {i: {} for i in batch_ids}
    for disposition in db.session.scalars(stmt):
        found[disposition.batch_id][disposition.excursion_id] = disposition
    return found


def placed_again(disposition: Disposition, excursion: Excursion) -> bool:
    """Whether the batch was put into the excursion's unit, during it, by a placement recorded
    after the disposition was signed: an exposure the reviewer never saw, so not covered."""
    stmt = (
        sa.select(BatchLocation.id)
        .where(
            BatchLocation.batch_id == disposition.batch_id,
            BatchLocation.storage_unit_id == excursion.storage_unit_id,
            BatchLocation.recorded_at > disposition.decided_at,
        )
        .limit(1)
    )
    if excursion.end is not None:
        stmt = stmt.where(BatchLocation.placed_at <= excursion.end)
    return db.session.scalar(stmt) is not None


def covered(disposition: Disposition | None, excursion: Excursion) -> bool:
    """Whether a signed disposition still covers the excursion for its batch: as signed, not
    one that later readings made worse, nor a later stay of the batch in the unit during it."""
    return (
        disposition is not None and disposition.covers(excursion) and not placed_again(disposition, excursion)
    )


def pending_dispositions(batch_id: int) -> list[Excursion]:
    """Excursions that need a disposition for this batch and have none that covers them yet
    (:func:`covered`)."""
    return pending_dispositions_each([batch_id])[batch_id]


def pending_dispositions_each(batch_ids: list[int]) -> dict[int, list[Excursion]]:
    """:func:`pending_dispositions` for several batches: two statements, and one more for each
    excursion a signed disposition may cover."""
    decided = dispositions_for_each(batch_ids)
    return {
        batch_id: [e for e in found if e.needs_disposition and not covered(decided[batch_id].get(e.id), e)]
        for batch_id, found in for_batches(batch_ids).items()
    }


def batches_during_each(excursions: list[Excursion]) -> dict[int, list[Batch]]:
    """:func:`batches_during` for many excursions in two statements (for lists)."""
    units = {e.storage_unit_id for e in excursions}
    if not units:
        return {}
    stays = stays_subquery(storage_unit_ids=units)
    rows = db.session.execute(sa.select(stays).where(stays.c.storage_unit_id.in_(units))).all()
    found: dict[int, set[int]] = {e.id: set() for e in excursions}
    for batch_id, unit_id, placed_at, left_at in rows:
        for e in excursions:
            if (
                e.storage_unit_id == unit_id
                and (e.end is None or placed_at <= e.end)
                and (left_at is None or left_at > e.start)
            ):
                found[e.id].add(batch_id)
    ids = set().union(*found.values())
    batches = {b.id: b for b in db.session.scalars(sa.select(Batch).where(Batch.id.in_(ids)))} if ids else {}
    return {
        key: sorted((batches[i] for i in value), key=lambda b: b.lot_number) for key, value in found.items()
    }
