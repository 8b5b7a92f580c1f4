"""What each person has to do next, for the home page."""

from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models import Batch, FormulaVersion, Investigation, MaterialLot, User
from qa_app.services import clock

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


def on_hold() -> list[Batch]:
    return _batches(sa.select(Batch).where(Batch.status == "on_hold").order_by(Batch.id))


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
