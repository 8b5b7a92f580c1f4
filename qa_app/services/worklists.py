"""What each person has to do next, for the home page."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.extensions import db
from qa_app.models import (
    Balance,
    Batch,
    BatchComponent,
    BatchLocation,
    Disposition,
    Excursion,
    FormulaVersion,
    Investigation,
    MaterialLot,
    TrendSignal,
    User,
)
from qa_app.models.types import utcnow
from qa_app.services import accounts, balances, clock, judgement, stays, trends

OPEN_STATUSES = ("draft", "quarantine", "on_hold", "awaiting_release")
LIMIT = 50


T = TypeVar("T")


@dataclass(frozen=True)
class Worklist(Generic[T]):
    """The first ``LIMIT`` items of a list and how many there are in all (for a heading's count)."""

    items: list[T]
    total: int

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def more(self) -> int:
        """How many are not listed."""
        return self.total - len(self.items)


def _total(stmt: sa.Select, listed: int) -> int:
    if listed < LIMIT:
        return listed
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))


def _listed(stmt: sa.Select, *options) -> Worklist:
    """Whole rows (one entity a row) of ``stmt``, the first ``LIMIT``, with the total."""
    items = list(db.session.scalars(stmt.options(*options).limit(LIMIT)))
    return Worklist(items, _total(stmt, len(items)))


def _batches(stmt: sa.Select) -> Worklist[Batch]:
    return _listed(stmt, so.joinedload(Batch.formula_version).joinedload(FormulaVersion.formula))


def my_drafts(user: User) -> Worklist[Batch]:
    """Drafts this person opened, oldest first: the work still on the bench."""
    return _batches(
        sa.select(Batch).where(Batch.status == "draft", Batch.compounded_by_id == user.id).order_by(Batch.id)
    )


def drafts_to_verify(user: User) -> Worklist[Batch]:
    """Other people's drafts whose API weighing waits for a second person: this person may verify
    them, since they neither compounded the batch nor weighed its API."""
    return _batches(
        sa.select(Batch)
        .where(Batch.status == "draft", Batch.compounded_by_id != user.id, Batch.api_verified_by_id.is_(None))
        .where(Batch.components.any(BatchComponent.role == "api"))
        .where(
            ~Batch.components.any(
                sa.and_(BatchComponent.role == "api", BatchComponent.recorded_by_id == user.id)
            )
        )
        .order_by(Batch.id)
    )


def lots_in_quarantine() -> Worklist[MaterialLot]:
    """Received lots waiting for a reviewer's approval, oldest first."""
    return _listed(sa.select(MaterialLot).where(MaterialLot.status == "quarantine").order_by(MaterialLot.id))


def formula_drafts(user: User) -> Worklist[FormulaVersion]:
    """Formula versions waiting for approval by someone other than their author."""
    stmt = (
        sa.select(FormulaVersion)
        .where(FormulaVersion.status == "draft", FormulaVersion.authored_by_id != user.id)
        .order_by(FormulaVersion.id)
    )
    return _listed(stmt, so.joinedload(FormulaVersion.formula))


def near_bud(days: int = 14) -> Worklist[Batch]:
    """Unfinished batches whose BUD is within ``days`` days, or already past, nearest first."""
    horizon = clock.today() + timedelta(days=days)
    return _batches(
        sa.select(Batch)
        .where(Batch.status.in_(OPEN_STATUSES), Batch.bud <= horizon)
        .order_by(Batch.bud, Batch.id)
    )


def awaiting_results() -> Worklist[Batch]:
    """Completed batches still waiting for results, oldest first."""
    return _batches(sa.select(Batch).where(Batch.status == "quarantine").order_by(Batch.id))


@dataclass(frozen=True)
class ReviewQueue:
    """The reviewer's decisions in waiting: batches to release, and batches held, with why."""

    awaiting_release: Worklist[Batch]
    on_hold: Worklist[tuple[Batch, list[dict[str, Any]]]]


def review_queue() -> ReviewQueue:
    """Nearest BUD first, then the oldest: what expires soonest must be decided first.

    What holds each batch comes from :func:`judgement.holds`, the rule the services apply.
    """
    order = (Batch.bud, Batch.compounded_at, Batch.id)
    ready = _batches(sa.select(Batch).where(Batch.status == "awaiting_release").order_by(*order))
    held = _batches(sa.select(Batch).where(Batch.status == "on_hold").order_by(*order))
    proofs = judgement.evidence_each([b.id for b in held])
    holds = [(b, judgement.holds(b, proofs[b.id])) for b in held]
    return ReviewQueue(ready, Worklist(holds, held.total))


def open_investigations() -> Worklist[tuple[Investigation, str]]:
    """Open OOS investigations with the lot number of their batch, oldest first."""
    stmt = (
        sa.select(Investigation, Batch.lot_number)
        .join(Batch, Batch.id == Investigation.batch_id)
        .where(Investigation.status == "open")
        .order_by(Investigation.id)
    )
    rows = [(inv, lot) for inv, lot in db.session.execute(stmt.limit(LIMIT))]
    return Worklist(rows, _total(stmt, len(rows)))


def open_excursions() -> Worklist[Excursion]:
    """Excursions no reviewer has acknowledged yet, oldest first."""
    stmt = (
        sa.select(Excursion)
        .where(Excursion.withdrawn_at.is_(None), Excursion.acknowledged_at.is_(None))
        .order_by(Excursion.start, Excursion.id)
    )
    return _listed(stmt)


def open_trend_signals() -> Worklist[TrendSignal]:
    """Trend signals no reviewer has acknowledged yet, oldest first."""
    return _listed(trends.open_signals_statement())


@dataclass(frozen=True)
class BalanceChecks:
    """Today's daily checks: balances still needing theirs (none today, one older than a change
    of the balance, or one that failed: the reason says which), balances checked and usable, and
    those out of use, each with its state."""

    to_check: list[tuple[Balance, balances.Usability]]
    checked: list[tuple[Balance, balances.Usability]]
    out_of_use: list[tuple[Balance, balances.Usability]]

    @property
    def total(self) -> int:
        return len(self.to_check) + len(self.checked) + len(self.out_of_use)

    def rows(self) -> list[tuple[Balance, balances.Usability, str]]:
        """Every balance with its state and ``to_check``, ``checked`` or ``out_of_use``: the ones
        to check first, each group by code."""
        return [
            *((b, u, "to_check") for b, u in self.to_check),
            *((b, u, "checked") for b, u in self.checked),
            *((b, u, "out_of_use") for b, u in self.out_of_use),
        ]


def balance_checks(today: date | None = None) -> BalanceChecks:
    """Which balances are checked today, which still need their daily check, which are out of use
    (the balances' own reading of today's checks, in one statement)."""
    groups: dict[str, list[tuple[Balance, balances.Usability]]] = {
        "to_check": [],
        "checked": [],
        "out_of_use": [],
    }
    for balance, state in balances.states(today=today):
        group = "out_of_use" if not balance.active else "checked" if state.usable else "to_check"
        groups[group].append((balance, state))
    return BalanceChecks(**groups)


def awaiting_disposition() -> Worklist[tuple[Batch, Excursion]]:
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
    return Worklist(list(pairs.values()), len(pairs))


@dataclass(frozen=True)
class Accounts:
    """The accounts at a glance: how many are active, which are locked out now, how many are
    deactivated."""

    total: int
    active: int
    locked: list[User]
    deactivated: int


def accounts_overview() -> Accounts:
    """Every account sorted into active, locked out now (listed) and deactivated."""
    users = accounts.list_users()
    now = utcnow()
    locked = [u for u in users if u.active and u.is_locked(now)]
    deactivated = sum(1 for u in users if not u.active)
    return Accounts(len(users), len(users) - len(locked) - deactivated, locked, deactivated)
