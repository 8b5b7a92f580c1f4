"""What each person has to do next, for the home page."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models import (
    Batch,
    BatchLocation,
    Disposition,
    Excursion,
    FormulaVersion,
    Investigation,
    MaterialLot,
    User,
)
from qa_app.services import clock, judgement, stays

OPEN_STATUSES = ("draft", "quarantine", "on_hold", "awaiting_release")
LIMIT = 50


def _batches(stmt: sa.Select) -> list[Batch]:
    stmt = stmt.options(so.joinedload(Batch.formula_version).joinedload(FormulaVersion.formula)).limit(LIMIT)
    return list(db.session.scalars(stmt))


def my_drafts(user: User) -> list[Batch]:
    """Drafts this person opened, oldest first: the work still on the bench."""
    return _batches(
        sa.select(Batch).where(Batch.status == "draft", Batch.compounded_by_id == user.id).order_by(Batch.id)
    )


def drafts_to_verify(user: User) -> list[Batch]:
    """Other people's drafts whose API weighing waits for a second person."""
    return _batches(
        sa.select(Batch)
        .where(Batch.status == "draft", Batch.compounded_by_id != user.id, Batch.api_verified_by_id.is_(None))
        .where(Batch.components.any(role="api"))
        .order_by(Batch.id)
    )


def lots_in_quarantine() -> list[MaterialLot]:
    stmt = (
        sa.select(MaterialLot).where(MaterialLot.status == "quarantine").order_by(MaterialLot.id).limit(LIMIT)
    )
    return list(db.session.scalars(stmt))


def formula_drafts(user: User) -> list[FormulaVersion]:
    """Formula versions waiting for approval by someone other than their author."""
    stmt = (
        sa.select(FormulaVersion)
        .where(FormulaVersion.status == "draft", FormulaVersion.authored_by_id != user.id)
        .options(so.joinedload(FormulaVersion.formula))
        .order_by(FormulaVersion.id)
        .limit(LIMIT)
    )
    return list(db.session.scalars(stmt))


def near_bud(days: int = 14) -> list[Batch]:
    """Unfinished batches whose BUD is within ``days`` days, or already past, nearest first."""
    horizon = clock.today() + timedelta(days=days)
    return _batches(
        sa.select(Batch)
        .where(Batch.status.in_(OPEN_STATUSES), Batch.bud <= horizon)
        .order_by(Batch.bud, Batch.id)
    )


def awaiting_results() -> list[Batch]:
    """Completed batches still waiting for results, oldest first."""
    return _batches(sa.select(Batch).where(Batch.status == "quarantine").order_by(Batch.id))


@dataclass(frozen=True)
class ReviewQueue:
    """The reviewer's decisions in waiting: batches to release, and batches held, with why."""

    awaiting_release: list[Batch]
    on_hold: list[tuple[Batch, list[dict[str, Any]]]]


def review_queue() -> ReviewQueue:
    """Nearest BUD first, then the oldest: what expires soonest must be decided first.

    What holds each batch comes from :func:`judgement.holds`, the rule the services apply.
    """
    order = (Batch.bud, Batch.compounded_at, Batch.id)
    ready = _batches(sa.select(Batch).where(Batch.status == "awaiting_release").order_by(*order))
    held = _batches(sa.select(Batch).where(Batch.status == "on_hold").order_by(*order))
    return ReviewQueue(ready, [(b, judgement.holds(b, judgement.evidence(b.id))) for b in held])


def open_investigations() -> list[tuple[Investigation, str]]:
    """Open OOS investigations with the lot number of their batch, oldest first."""
    stmt = (
        sa.select(Investigation, Batch.lot_number)
        .join(Batch, Batch.id == Investigation.batch_id)
        .where(Investigation.status == "open")
        .order_by(Investigation.id)
        .limit(LIMIT)
    )
    return [(inv, lot) for inv, lot in db.session.execute(stmt)]


def open_excursions() -> list[Excursion]:
    """Excursions no reviewer has acknowledged yet, oldest first."""
    stmt = (
        sa.select(Excursion)
        .where(Excursion.withdrawn_at.is_(None), Excursion.acknowledged_at.is_(None))
        .order_by(Excursion.start, Excursion.id)
        .limit(LIMIT)
    )
    return list(db.session.scalars(stmt))


def awaiting_disposition() -> list[tuple[Batch, Excursion]]:
    """Unreleased batches with an excursion that needs their disposition, in one statement
    (the rule of :func:`qa_app.services.stays.pending_dispositions`, for every batch at once)."""
    placed = stays.stays_subquery()
    placed_again = sa.exists().where(  # stays.placed_again: an exposure signed for by nobody
        BatchLocation.batch_id == Batch.id,
        BatchLocation.storage_unit_id == Excursion.storage_unit_id,
        BatchLocation.recorded_at > Disposition.decided_at,
        sa.or_(Excursion.end.is_(None), BatchLocation.placed_at <= Excursion.end),
    )
    decided = sa.exists().where(  # stays.covered: one that covers the excursion as it stands
        Disposition.batch_id == Batch.id,
        Disposition.excursion_id == Excursion.id,
        Disposition.covered_min_c <= Excursion.min_c,
        Disposition.covered_max_c >= Excursion.max_c,
        ~placed_again,
    )
    stmt = (
        sa.select(Batch, Excursion)
        .join(placed, placed.c.batch_id == Batch.id)
        .join(Excursion, Excursion.storage_unit_id == placed.c.storage_unit_id)
        .where(Batch.status.in_(judgement.JUDGED_STATES), ~decided)
        .where(Excursion.classification == "needs_disposition", Excursion.withdrawn_at.is_(None))
        .where(placed.c.placed_at <= sa.func.coalesce(Excursion.end, Excursion.last_reading_at))
        .where(sa.or_(placed.c.left_at.is_(None), placed.c.left_at > Excursion.start))
        .order_by(Excursion.start, Excursion.id, Batch.lot_number)
        .limit(LIMIT)
    )
    pairs = {}  # a batch moved out and back during one excursion meets it twice
    for batch, excursion in db.session.execute(stmt):
        pairs.setdefault((batch.id, excursion.id), (batch, excursion))
    return list(pairs.values())
