"""Quality trending per formula and strength (domain.md §10): the points of an attribute in
compounding order, read in one statement, judged by ``domain.trending``; the signals stored once
and acknowledged by a reviewer."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from qa_app.domain import trending
from qa_app.errors import InvalidInput, NotFound, WrongState
from qa_app.extensions import db
from qa_app.models import (
    TREND_ATTRIBUTES,
    Batch,
    Formula,
    FormulaVersion,
    Result,
    ResultInvalidation,
    TrendSignal,
    User,
    WeightCheck,
)
from qa_app.services import alerts, audit, clock
from qa_app.services.accounts import require_role

ATTRIBUTE_LABELS = {
    "assay": "Assay (% LC)",
    "cu_av": "Content uniformity acceptance value",
    "weight_rsd": "Capsule weight RSD (%)",
    "yield": "Yield (% of theoretical)",
}
AV_L1 = 15.0  # USP <905>: the acceptance value may not exceed L1 = 15.0
YIELD_LIMITS = (95.0, 105.0)  # domain.md §2 decision: outside needs a deviation reason
DECIDED = ("discarded",)  # abandoned batches are not trended (a draft's weight check is)


@dataclass(frozen=True)
class Point:
    batch_id: int
    lot_number: str
    compounded_at: datetime
    strength_mg: float
    value: float


@dataclass(frozen=True)
class Series:
    formula: Formula
    attribute: str
    strength_mg: float | None
    points: list[Point]
    lsl: float | None
    usl: float | None
    trend: trending.Trend

    def as_dict(self) -> dict[str, Any]:
        numbers = self.trend.as_dict()
        signals = [
            {
                "rule": s["rule"],
                "lot_number": self.points[s["index"]].lot_number,
                "description": s["description"],
            }
            for s in numbers.pop("signals")
        ]
        return {
            "formula": self.formula.code,
            "attribute": self.attribute,
            "strength_mg": self.strength_mg,
            "lsl": self.lsl,
            "usl": self.usl,
            "points": [
                {
                    "lot_number": p.lot_number,
                    "compounded_at": p.compounded_at.isoformat().replace("+00:00", "Z"),
                    "value": p.value,
                }
                for p in self.points
            ],
            **numbers,
            "signals": signals,
        }


def _attribute(attribute: str | None) -> str:
    attribute = attribute or "assay"
    if attribute not in TREND_ATTRIBUTES:
        raise InvalidInput(
            f"Unknown attribute {attribute!r}.", {"attribute": f"Use one of: {', '.join(TREND_ATTRIBUTES)}."}
        )
    return attribute


def _formula(code: str | None) -> Formula:
    formula = db.session.scalar(sa.select(Formula).where(Formula.code == (code or "").strip().upper()))
    if formula is None:
        raise NotFound(f"No formula with code {code!r}.")
    return formula


def _batches(formula: Formula, strength_mg: float | None, date_from: date | None, date_to: date | None):
    versions = sa.select(FormulaVersion.id).where(FormulaVersion.formula_id == formula.id)
    conditions = [Batch.formula_version_id.in_(versions), Batch.status.not_in(DECIDED)]
    if strength_mg is not None:
        conditions.append(Batch.strength_mg.between(strength_mg - 1e-9, strength_mg + 1e-9))
    if date_from is not None:
        conditions.append(Batch.compounded_at >= clock.start_of_local_day(date_from))
    if date_to is not None:
        conditions.append(Batch.compounded_at < clock.start_of_local_day(date_to, days_after=1))
    return conditions


def _rows(
    formula: Formula,
    attribute: str,
    strength_mg: float | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Sequence[Sequence[Any]]:
    """The series' rows as plain tuples (batch id, lot number, time as stored, strength, value),
    in compounding order, in one statement."""
    where = _batches(formula, strength_mg, date_from, date_to)
    # The time read as the driver gives it and made aware below: the column type's own reading
    # costs more than everything else in a series of ten thousand points.
    columns = (
        Batch.id,
        Batch.lot_number,
        sa.type_coerce(Batch.compounded_at, sa.String()),
        Batch.strength_mg,
    )
    if attribute == "yield":
        stmt = sa.select(*columns, Batch.yield_percent).where(*where, Batch.yield_percent.is_not(None))
    elif attribute == "weight_rsd":
        latest = (
            sa.select(
                WeightCheck.batch_id,
                WeightCheck.summary["rsd_percent"].as_float().label("value"),
                sa.func.row_number()
                .over(partition_by=WeightCheck.batch_id, order_by=WeightCheck.id.desc())
                .label("n"),
            )
        ).subquery()
        stmt = (
            sa.select(*columns, latest.c.value)
            .join(latest, latest.c.batch_id == Batch.id)
            .where(*where, latest.c.n == 1, latest.c.value.is_not(None))
        )
    else:
        return _result_rows(where, columns, attribute)
    # Core rows through the session's connection: plain tuples, without the ORM's row machinery
    # (flushed first, so a result just recorded in this transaction is among them).
    db.session.flush()
    return db.session.connection().execute(stmt.order_by(Batch.compounded_at, Batch.id)).all()


JUDGED = frozenset(("pass", "warning", "fail"))


def _result_rows(where: list[Any], columns: tuple[Any, ...], attribute: str) -> list[Sequence[Any]]:
    """Assay or content uniformity: each batch's value from its latest valid result of the test.

    One flat read of the series' batches joined to their results of the test (through the batch
    and test index, in compounding and then recording order), and the latest valid one picked
    here: judged, not invalidated, not a stage 1 that a stage 2 completed. Cheaper than ranking
    them in the database, which reads the batches three times."""
    key, field = ("assay", "reported") if attribute == "assay" else ("content_uniformity", "av")
    value = (
        sa.cast(Result.evaluation[field].as_string(), sa.Float)
        if field == "reported"
        else Result.evaluation[field].as_float()
    )
    invalid = Result.id.in_(sa.select(ResultInvalidation.result_id))
    stmt = (
        sa.select(*columns, value, Result.id, Result.stage1_result_id, Result.status, invalid)
        .join(Result, Result.batch_id == Batch.id)
        .where(*where, Result.test_key == key)
        .order_by(Batch.compounded_at, Batch.id, Result.id)
    )
    db.session.flush()
    return _latest_valid(db.session.connection().execute(stmt).all())


def _latest_valid(rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    """Each batch's point from its results of the test, or none: the latest judged, valid one
    that no stage 2 completed, when it has a value.

    One pass from the newest row back: a stage 2 is recorded after the stage 1 it completes, so
    it is met first; a batch's older results are skipped once its point is found."""
    found: list[Sequence[Any]] = []
    batch_id, decided, completed = None, False, set[Any]()
    for row in reversed(rows):
        if row[0] != batch_id:
            batch_id, decided = row[0], False
            if completed:
                completed = set()
        if decided:
            continue
        if row[6] is not None:
            completed.add(row[6])
        if row[7] in JUDGED and not row[8] and row[5] not in completed:
            decided = True
            if row[4] is not None:
                found.append(row)
    found.reverse()
    return found


def points(
    formula: Formula,
    attribute: str,
    strength_mg: float | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[Point]:
    """The batch's reportable value of ``attribute`` per batch, in compounding order, in one statement.

    Assay: the batch's latest valid assay result as reported (rounded to the specification's
    decimals); content uniformity: the AV of its final valid result (stage 2 when there is one;
    a stage 1 still waiting for its 20 more units has none yet); weight RSD: its latest capsule
    weight check; yield: its yield.
    """
    rows = _rows(formula, attribute, strength_mg, date_from, date_to)
    return [_point(r) for r in rows]


def _point(row: Sequence[Any]) -> Point:
    return Point(row[0], row[1], _moment(row[2]), row[3], float(row[4]))


def _moment(value: str | datetime) -> datetime:
    """A stored UTC time as an aware datetime: SQLite gives its text, PostgreSQL a datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def specification_limits(formula: Formula, attribute: str) -> tuple[float | None, float | None]:
    """The limits capability is judged against: the assay's in the approved version, L1 for the
    AV, 95–105 % for the yield, none for the weight RSD."""
    if attribute == "cu_av":
        return None, AV_L1
    if attribute == "yield":
        return YIELD_LIMITS
    if attribute == "weight_rsd":
        return None, None
    version = formula.approved or (formula.versions[-1] if formula.versions else None)
    tests = version.body.get("specification", {}).get("tests", []) if version else []
    assay = next((t for t in tests if t["key"] == "assay"), None)
    return (assay.get("min"), assay.get("max")) if assay else (None, None)


def series(
    code: str,
    attribute: str | None = None,
    strength_mg: float | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Series:
    formula = _formula(code)
    attribute = _attribute(attribute)
    found = points(formula, attribute, strength_mg, date_from, date_to)
    lsl, usl = specification_limits(formula, attribute)
    values = np.fromiter((p.value for p in found), dtype=np.float64, count=len(found))
    return Series(formula, attribute, strength_mg, found, lsl, usl, trending.trend(values, lsl, usl))


# --- signals as work --------------------------------------------------------------------------


ATTRIBUTES_OF_TEST = {"assay": ("assay",), "content_uniformity": ("cu_av",)}


def refresh(actor: User | None, batches: Iterable[Batch], attributes: Iterable[str]) -> list[TrendSignal]:
    """Store the signals new since the last look on the trends these batches belong to (each
    formula and strength once), raising a ``trend_signal`` alert for each; caller commits."""
    wanted = tuple(attributes)
    return refresh_each(actor, [(batch, attribute) for batch in batches for attribute in wanted])


def refresh_tests(actor: User | None, tested: Iterable[tuple[Batch, str]]) -> list[TrendSignal]:
    """Refresh the trends of the tests just recorded on these batches, and only those: a file
    of content-uniformity results looks at the AV series of its formulas and strengths, not at
    their assay series, whose values did not change."""
    return refresh_each(
        actor,
        [(batch, attribute) for batch, test in tested for attribute in ATTRIBUTES_OF_TEST.get(test, ())],
    )


def refresh_each(actor: User | None, wanted: Iterable[tuple[Batch, str]]) -> list[TrendSignal]:
    """Store the signals new on each named trend (a batch's formula and strength, an attribute;
    each series read once), raising a ``trend_signal`` alert for each; caller commits.

    The signals already stored on these series are read in one statement, and only the new
    ones written (together), audited and alerted in the order they were found."""
    keys: dict[tuple[int, float, str], None] = {}
    for batch, attribute in wanted:
        if batch.dosage_form != "trituration" and attribute in TREND_ATTRIBUTES:
            keys[(batch.formula_version.formula_id, batch.strength_mg, attribute)] = None
    found: list[Found] = []
    formulas: dict[int, Formula] = {}
    for formula_id, strength, attribute in sorted(keys, key=_series_order):
        formula = formulas.get(formula_id) or formulas.setdefault(
            formula_id, db.session.get(Formula, formula_id)
        )
        found += _signals_on(formula, attribute, strength)
    return _store(actor, found, keys)


def _series_order(key: tuple[int, float, str]) -> tuple[int, float, int]:
    """Formula, strength, then the attributes in their listed order (as the signals were found)."""
    return key[0], key[1], TREND_ATTRIBUTES.index(key[2])


def _signals_on(formula: Formula, attribute: str, strength: float) -> "list[Found]":
    """The signals on one series now: its values straight from the rows into an array, a point
    made only where a signal's pattern completes."""
    rows = _rows(formula, attribute, strength)
    values = np.fromiter((r[4] for r in rows), dtype=np.float64, count=len(rows))
    lsl, usl = specification_limits(formula, attribute)
    return [
        Found(formula, strength, attribute, signal, _point(rows[signal.index]))
        for signal in trending.trend(values, lsl, usl).signals
    ]


@dataclass(frozen=True)
class Found:
    """A signal seen on a series, and the point where its pattern completes."""

    formula: Formula
    strength: float
    attribute: str
    signal: trending.Signal
    point: Point

    @property
    def key(self) -> tuple[int, float, str, str, int]:
        return (self.formula.id, self.strength, self.attribute, self.signal.rule, self.point.batch_id)


SIGNAL_ROWS_PER_STATEMENT = 500
"""Rows of one INSERT: eight parameters each, well within SQLite's and PostgreSQL's limits."""


def _known(series_keys: Iterable[tuple[int, float, str]]) -> set[tuple[int, float, str, str, int]]:
    """The keys of the signals already stored on these series, in one statement."""
    wanted = set(series_keys)
    if not wanted:
        return set()
    stmt = sa.select(
        TrendSignal.formula_id,
        TrendSignal.strength_mg,
        TrendSignal.attribute,
        TrendSignal.rule,
        TrendSignal.batch_id,
    ).where(
        TrendSignal.formula_id.in_(sorted({k[0] for k in wanted})),
        TrendSignal.strength_mg.in_(sorted({k[1] for k in wanted})),
        TrendSignal.attribute.in_(sorted({k[2] for k in wanted})),
    )
    rows = db.session.connection().execute(stmt)
    return {(f, s, a, r, b) for f, s, a, r, b in rows if (f, s, a) in wanted}


def _store(
    actor: User | None, found: list[Found], series_keys: Iterable[tuple[int, float, str]]
) -> list[TrendSignal]:
    """Write the signals not stored yet (those known are left out; a race's duplicate is
    skipped by the unique key); audit and alert each new one; the new rows."""
    known = _known(series_keys)
    found = [f for f in found if f.key not in known]
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    now = clock.utcnow()
    new_ids: dict[tuple[int, float, str, str, int], int] = {}
    for first in range(0, len(found), SIGNAL_ROWS_PER_STATEMENT):
        rows = [
            {
                "formula_id": f.formula.id,
                "strength_mg": f.strength,
                "attribute": f.attribute,
                "rule": f.signal.rule,
                "batch_id": f.point.batch_id,
                "description": f.signal.description,
                "detected_at": now,
                "row_version": 1,
            }
            for f in found[first : first + SIGNAL_ROWS_PER_STATEMENT]
        ]
        stmt = (
            dialect.insert(TrendSignal)
            .values(rows)
            .on_conflict_do_nothing(
                index_elements=["formula_id", "strength_mg", "attribute", "rule", "batch_id"]
            )
            .returning(
                TrendSignal.formula_id,
                TrendSignal.strength_mg,
                TrendSignal.attribute,
                TrendSignal.rule,
                TrendSignal.batch_id,
                TrendSignal.id,
            )
        )
        new_ids.update((tuple(row[:5]), row[5]) for row in db.session.execute(stmt))
    stored = [(f, new_ids.pop(f.key)) for f in found if f.key in new_ids]
    if not stored:
        return []
    audit.record_many([_signal_event(actor, f, new_id) for f, new_id in stored])
    alerts.raise_alerts("trend_signal", [_signal_alert(f, new_id) for f, new_id in stored])
    rows = db.session.scalars(sa.select(TrendSignal).where(TrendSignal.id.in_([i for _, i in stored])))
    by_id = {row.id: row for row in rows}
    return [by_id[new_id] for _, new_id in stored]


def _signal_event(actor: User | None, f: Found, new_id: int) -> audit.Entry:
    return audit.Entry(
        "trend.signal",
        "trend_signal",
        str(new_id),
        actor=actor,
        username=None if actor is not None else "system",
        new={
            "formula": f.formula.code,
            "strength_mg": f.strength,
            "attribute": f.attribute,
            "rule": f.signal.rule,
            "lot_number": f.point.lot_number,
            "description": f.signal.description,
        },
    )


def _signal_alert(f: Found, new_id: int) -> alerts.Cause:
    what = f"{ATTRIBUTE_LABELS[f.attribute]} of {f.formula.code} {f.strength:g} mg"
    return alerts.Cause(
        f"trend_signal:{new_id}",
        f"Trend signal (Nelson rule {f.signal.rule}): {what}",
        f"{what}: {f.signal.description} The pattern completes at batch {f.point.lot_number}. "
        "A reviewer acknowledges it with a comment on the trends page.",
        f"/trends/{f.formula.code}?attribute={f.attribute}&strength={f.strength:g}",
    )


def open_signals_statement() -> sa.Select:
    """Trend signals no reviewer has acknowledged yet, oldest first."""
    return sa.select(TrendSignal).where(TrendSignal.acknowledged_at.is_(None)).order_by(TrendSignal.id)


def open_signals() -> list[TrendSignal]:
    return list(db.session.scalars(open_signals_statement()))


def signals_of(formula: Formula) -> list[TrendSignal]:
    stmt = sa.select(TrendSignal).where(TrendSignal.formula_id == formula.id).order_by(TrendSignal.id)
    return list(db.session.scalars(stmt))


def acknowledge(actor: User, signal_id: int, comment: str | None) -> TrendSignal:
    """A reviewer has looked at the signal: the comment says what was found or done (audited)."""
    require_role(actor, "reviewer")
    comment = (comment or "").strip()
    if not comment:
        raise InvalidInput("Give a comment: what was found or done.", {"comment": "Required."})
    stmt = (
        sa.select(TrendSignal)
        .where(TrendSignal.id == signal_id)
        .with_for_update(of=TrendSignal)
        .execution_options(populate_existing=True)
    )
    signal = db.session.scalar(stmt)
    if signal is None:
        raise NotFound(f"No trend signal {signal_id}.")
    if signal.acknowledged_at is not None:
        raise WrongState(
            f"Trend signal {signal_id} was acknowledged already by {signal.acknowledged_by.full_name}."
        )
    signal.acknowledged_by_id, signal.acknowledged_at, signal.comment = actor.id, clock.utcnow(), comment
    audit.record(
        "trend.signal_acknowledged",
        "trend_signal",
        str(signal.id),
        actor=actor,
        old={"acknowledged": False},
        new={"acknowledged": True, "lot_number": signal.batch.lot_number, "rule": signal.rule},
        reason=comment,
    )
    db.session.commit()
    return signal
