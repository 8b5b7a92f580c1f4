"""What the storage pages show: a unit over a window of time, and an excursion with its batches.

Read-only: everything here loads and explains; the changes go through :mod:`readings`,
:mod:`excursions` and :mod:`tokens`. Each view loads in a fixed number of statements.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa

from qa_app.domain.rounding import round_half_up
from qa_app.domain.temperature import CONDITIONS, MKT_DECIMALS, Condition, Summary
from qa_app.extensions import db
from qa_app.models import Batch, Disposition, Excursion, ReadingUpload, StorageUnit
from qa_app.services import clock, excursions, judgement, readings, storage
from qa_app.services.pagination import Page, paginate

PRESETS = {
    "24h": (timedelta(hours=24), "Last 24 hours"),
    "7d": (timedelta(days=7), "Last 7 days"),
    "30d": (timedelta(days=30), "Last 30 days"),
    "365d": (timedelta(days=365), "Last 365 days"),
}
RECENT_UPLOADS = 10
FOLLOW_UP = ("released", "recalled")


def default_window(condition: str) -> str:
    """The condition's MKT window (30 days room, 24 hours refrigerated); 7 days where MKT does not apply."""
    window = CONDITIONS[condition].mkt_window
    for key, (length, _label) in PRESETS.items():
        if window == length:
            return key
    return "7d"


def window_words(length: timedelta) -> str:
    """24 hours → "24-hour", 30 days → "30-day"."""
    hours = length.total_seconds() / 3600
    return f"{hours:g}-hour" if hours < 48 else f"{hours / 24:g}-day"


@dataclass(frozen=True)
class ConditionMkt:
    """The MKT over the condition's own window up to now, judged against its limit."""

    window: timedelta
    start: datetime
    end: datetime
    summary: Summary
    limit_c: float

    @property
    def reported(self):
        return None if self.summary.mkt_c is None else round_half_up(self.summary.mkt_c, MKT_DECIMALS)

    @property
    def within(self) -> bool | None:
        return None if self.reported is None else float(self.reported) <= self.limit_c

    @property
    def gap_minutes(self) -> float:
        """Time without readings in the window (data gaps): the MKT does not cover it."""
        return sum((g.end - g.start).total_seconds() for g in self.summary.gaps) / 60


@dataclass(frozen=True)
class UnitView:
    unit: StorageUnit
    condition: Condition
    start: datetime
    end: datetime
    summary: Summary
    condition_mkt: ConditionMkt | None
    series: dict[str, np.ndarray]
    hourly: bool
    spans: list[Excursion]
    excursions: Page
    uploads: list[ReadingUpload]
    states: dict[int, str]


def unit_view(code: str, start: datetime, end: datetime, page: int = 1, per_page: int = 20) -> UnitView:
    """A unit over ``[start, end]``: the summary, the chart's series and excursions, the list."""
    unit = storage.get_unit(code, field="unit_code")
    condition = CONDITIONS[unit.condition]
    now = clock.utcnow()
    condition_mkt = None
    if condition.mkt_window is not None and condition.mkt_max_c is not None:
        begins = now - condition.mkt_window
        condition_mkt = ConditionMkt(
            condition.mkt_window,
            begins,
            now,
            readings.summarise_window(unit, begins, now),
            condition.mkt_max_c,
        )
    spans = list(
        db.session.scalars(
            sa.select(Excursion)
            .where(Excursion.storage_unit_id == unit.id, Excursion.withdrawn_at.is_(None))
            .where(Excursion.start <= end, sa.or_(Excursion.end.is_(None), Excursion.end >= start))
            .order_by(Excursion.start)
        )
    )
    uploads = list(
        db.session.scalars(
            sa.select(ReadingUpload)
            .where(ReadingUpload.storage_unit_id == unit.id)
            .order_by(ReadingUpload.id.desc())
            .limit(RECENT_UPLOADS)
        )
    )
    listed = paginate(excursions.list_statement(storage_unit=unit.code), page, per_page)
    return UnitView(
        unit=unit,
        condition=condition,
        start=start,
        end=end,
        summary=readings.summarise_window(unit, start, end),
        condition_mkt=condition_mkt,
        series=readings.series_for_chart(unit, start, end),
        hourly=end - start > timedelta(days=2),
        spans=spans,
        excursions=listed,
        uploads=uploads,
        states=excursions.states(listed.items),
    )


@dataclass(frozen=True)
class AffectedBatch:
    """A batch that was in the unit during the excursion, and what is owed for it."""

    batch: Batch
    disposition: Disposition | None
    needs_disposition: bool
    follow_up: bool
    note: str


@dataclass(frozen=True)
class ExcursionView:
    excursion: Excursion
    explanation: str
    state: str
    batches: list[AffectedBatch]
    chart_start: datetime
    chart_end: datetime
    series: dict[str, np.ndarray]
    hourly: bool
    neighbours: list[Excursion]


def _affected(excursion: Excursion) -> list[AffectedBatch]:
    found = excursions.batches_during(excursion)
    ids = [b.id for b in found]
    decided = (
        {
            d.batch_id: d
            for d in db.session.scalars(
                sa.select(Disposition).where(
                    Disposition.excursion_id == excursion.id, Disposition.batch_id.in_(ids)
                )
            )
        }
        if ids
        else {}
    )
    rows = []
    for batch in found:
        disposition = decided.get(batch.id)
        owed = excursion.needs_disposition and disposition is None and batch.status in judgement.JUDGED_STATES
        if disposition is not None:
            note = "Disposition recorded."
        elif excursion.withdrawn_at is not None:
            note = "No disposition needed: the excursion was withdrawn."
        elif not excursion.needs_disposition:
            note = "No disposition needed: the excursion is allowable."
        elif owed:
            note = "Held until a reviewer records a disposition."
        elif batch.status in FOLLOW_UP:
            note = f"Already {batch.status} before a disposition could hold it: follow up (recall if needed)."
        else:
            note = f"The batch is {batch.status.replace('_', ' ')}: no disposition is taken."
        rows.append(AffectedBatch(batch, disposition, owed, batch.status in FOLLOW_UP, note))
    return rows


def excursion_view(excursion_id: int) -> ExcursionView:
    """An excursion with its explanation, its batches and a chart of the time around it."""
    excursion = excursions.get(excursion_id)
    until = excursion.until
    pad = max(timedelta(hours=2), (until - excursion.start) / 2)
    chart_start = excursion.start - pad
    chart_end = min(until + pad, max(clock.utcnow(), until))
    neighbours = list(
        db.session.scalars(
            sa.select(Excursion)
            .where(Excursion.storage_unit_id == excursion.storage_unit_id, Excursion.withdrawn_at.is_(None))
            .where(Excursion.start <= chart_end)
            .where(sa.or_(Excursion.end.is_(None), Excursion.end >= chart_start))
            .order_by(Excursion.start)
        )
    )
    if excursion.withdrawn_at is not None:
        neighbours.append(excursion)
    return ExcursionView(
        excursion=excursion,
        explanation=explain(excursion),
        state=excursions.states([excursion])[excursion.id],
        batches=_affected(excursion),
        chart_start=chart_start,
        chart_end=chart_end,
        series=readings.series_for_chart(excursion.storage_unit, chart_start, chart_end),
        hourly=chart_end - chart_start > timedelta(days=2),
        neighbours=neighbours,
    )


def _c(value: float) -> str:
    return f"{value:g}".replace("-", "\u2212")


def allowance_text(condition: Condition) -> str:
    """What the condition allows (domain.md §6), in words."""
    if condition.allowance_min_c is None or condition.allowance_max_c is None:
        return f"{condition.name}: MKT does not apply and no excursion is allowable; each needs a decision"
    text = f"{condition.name}: readings within {_c(condition.allowance_min_c)}–{_c(condition.allowance_max_c)} °C"
    if condition.spike_max_c is not None and condition.spike_max_duration is not None:
        hours = condition.spike_max_duration.total_seconds() / 3600
        text += f", spikes up to {_c(condition.spike_max_c)} °C for at most {hours:g} h in all"
    if condition.mkt_max_c is not None and condition.mkt_window is not None:
        text += f", and a {window_words(condition.mkt_window)} MKT of at most {_c(condition.mkt_max_c)} °C"
    return text


def explain(excursion: Excursion) -> str:
    """Why the excursion is allowable or needs a disposition, with its own numbers."""
    unit = excursion.storage_unit
    condition = CONDITIONS[unit.condition]
    allowance = allowance_text(condition)
    if excursion.classification == "allowable":
        return (
            f"Allowable: it stayed inside the USP allowance for {allowance}. It holds no batch; "
            "a reviewer acknowledges it with a comment."
        )
    reasons = []
    if condition.allowance_min_c is None:
        reasons.append("a freezer excursion always needs a decision")
    else:
        ceiling = condition.spike_max_c if condition.spike_max_c is not None else condition.allowance_max_c
        if excursion.min_c < condition.allowance_min_c:
            reasons.append(f"it fell to {_c(excursion.min_c)} °C, below {_c(condition.allowance_min_c)} °C")
        if ceiling is not None and excursion.max_c > ceiling:
            reasons.append(f"it reached {_c(excursion.max_c)} °C, above {_c(ceiling)} °C")
        if condition.mkt_max_c is not None and condition.mkt_window is not None:
            words = window_words(condition.mkt_window)
            if excursion.mkt_c is None:
                reasons.append(f"there were too few readings for the {words} MKT")
            elif float(round_half_up(excursion.mkt_c, MKT_DECIMALS)) > condition.mkt_max_c:
                reasons.append(
                    f"the {words} MKT was {round_half_up(excursion.mkt_c, MKT_DECIMALS)} °C, "
                    f"above {_c(condition.mkt_max_c)} °C"
                )
        if not reasons and condition.spike_max_duration is not None and condition.allowance_max_c is not None:
            hours = condition.spike_max_duration.total_seconds() / 3600
            reasons.append(
                f"it was above {_c(condition.allowance_max_c)} °C for more than {hours:g} h in all"
            )
    if excursion.gap_minutes:
        reasons.append(
            f"no readings for {excursion.gap_minutes:g} min during it or next to it: a data gap is not evidence"
        )
    if excursion.reason and excursion.reason.endswith(excursions.KEPT):
        reasons.append(
            "it held a batch or was acknowledged before later readings came, and late data never lift a hold"
        )
    because = "; ".join(reasons) or "it went outside the allowance"
    return (
        f"Needs disposition: {because} (allowance for {allowance}). Every unreleased batch that was in "
        f"{unit.code} during it is on hold until a reviewer records a signed disposition for it."
    )
