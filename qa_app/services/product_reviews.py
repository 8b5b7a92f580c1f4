"""The annual product review of a formula (domain.md §10): every batch compounded in one local
year (January 1 to December 31 in the pharmacy's time zone), its OOS results and how their
investigations ended, deviations, excursions that held its batches, the formula versions in
force, the trends of its attributes with their signals and capability, and the reviewer's
conclusions.

Each section is read in one or a few statements for the whole year, never batch by batch. A
preview is rendered on request, marked DRAFT and never stored; the signed review is rendered
once, signed (meaning ``reviewed``) over its SHA-256 and kept byte for byte, like a certificate.
"""

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from qa_app.domain import compounding
from qa_app.errors import Conflict, InvalidInput, NotFound, WrongState
from qa_app.extensions import db
from qa_app.models import (
    TREND_ATTRIBUTES,
    Batch,
    BatchComponent,
    Disposition,
    Formula,
    FormulaVersion,
    Investigation,
    ProductReview,
    Result,
    ResultInvalidation,
    TrendSignal,
    User,
    WeightCheck,
)
from qa_app.reports.product_review import (
    ChartData,
    ReviewContent,
    ReviewSignature,
    TrendSection,
    product_review_pdf,
)
from qa_app.services import audit, clock, signatures, stays, trends
from qa_app.services.accounts import require_role
from qa_app.services.certificates import local_time
from qa_app.services.review import reported, result_text, test_label
from qa_app.services.signatures import SignatureInput

MEANING = "reviewed"
ALWAYS_CHARTED = ("assay", "cu_av")
"""Shown for every strength, with or without points; weight RSD and yield only when they have some."""
IN_PROGRESS = ("draft", "quarantine", "on_hold", "awaiting_release")
OUTCOMES = {"invalidated": "Invalidated (assignable cause)", "confirmed": "OOS confirmed"}
MAX_CONCLUSIONS = 20000


@dataclass(frozen=True)
class Year:
    """One local year as UTC instants: ``start`` included, ``end`` excluded."""

    year: int
    start: datetime
    end: datetime

    @property
    def first(self) -> date:
        return date(self.year, 1, 1)

    @property
    def last(self) -> date:
        return date(self.year, 12, 31)


def _year(year: int) -> Year:
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 9998:
        raise InvalidInput("Give the year as four digits, e.g. 2026.", {"year": "Give a year such as 2026."})
    return Year(
        year,
        clock.start_of_local_day(date(year, 1, 1)),
        clock.start_of_local_day(date(year + 1, 1, 1)),
    )


def _formula(code: str | None) -> Formula:
    formula = db.session.scalar(sa.select(Formula).where(Formula.code == (code or "").strip().upper()))
    if formula is None:
        raise NotFound(f"No formula with code {code!r}.")
    return formula


def _day(moment: datetime | None) -> str:
    return "—" if moment is None else clock.local_date(moment).isoformat()


def _short(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M %Z")


def year_batches(formula: Formula, period: Year) -> list[Batch]:
    """The formula's batches compounded in the year, every status, in compounding order."""
    versions = sa.select(FormulaVersion.id).where(FormulaVersion.formula_id == formula.id)
    stmt = (
        sa.select(Batch)
        .where(
            Batch.formula_version_id.in_(versions),
            Batch.compounded_at >= period.start,
            Batch.compounded_at < period.end,
        )
        .order_by(Batch.compounded_at, Batch.id)
    )
    return list(db.session.scalars(stmt))


def years_with_batches(formula: Formula) -> list[int]:
    """The local years in which the formula has batches, newest first."""
    versions = sa.select(FormulaVersion.id).where(FormulaVersion.formula_id == formula.id)
    moments = db.session.scalars(sa.select(Batch.compounded_at).where(Batch.formula_version_id.in_(versions)))
    return sorted({clock.local_date(m).year for m in moments}, reverse=True)


# --- the sections ---------------------------------------------------------------------------


def _counts(found: list[Batch]) -> list[tuple[str, str]]:
    status = Counter(b.status for b in found)
    return [
        ("Batches made", str(len(found))),
        ("Released", str(status["released"] + status["recalled"])),
        ("Rejected", str(status["rejected"])),
        ("Recalled", str(status["recalled"])),
        ("Discarded", str(status["discarded"])),
        ("Still in progress", str(sum(status[s] for s in IN_PROGRESS))),
    ]


def _strength(batch: Batch) -> str:
    if batch.dosage_form == "trituration":
        return f"{batch.strength_mg:g} % w/w" if batch.strength_mg else "—"
    return f"{batch.strength_mg:g} mg"


@dataclass(frozen=True)
class OosLine:
    lot_number: str
    test: str
    value: str
    outcome: str
    conclusion: str


def _oos(ids: list[int], lots: dict[int, str]) -> list[OosLine]:
    """Every failing result of the year's batches with its investigation, in one statement."""
    if not ids:
        return []
    stmt = (
        sa.select(Result, Investigation)
        .outerjoin(Investigation, Investigation.result_id == Result.id)
        .where(Result.batch_id.in_(ids), Result.status == "fail")
        .order_by(Result.batch_id, Result.id)
    )
    lines = []
    for result, inv in db.session.execute(stmt).all():
        if inv is None:
            outcome, conclusion = "None opened", "—"
        elif inv.status != "closed":
            outcome, conclusion = f"Open (phase {inv.phase})", inv.cause or "—"
        else:
            outcome = OUTCOMES.get(inv.outcome or "", inv.outcome or "Closed")
            conclusion = inv.conclusion or "—"
        lines.append(
            OosLine(
                lots[result.batch_id], test_label(result.test_key), result_text(result), outcome, conclusion
            )
        )
    return lines


def _deviations(found: list[Batch], ids: list[int]) -> list[str]:
    """The departures from plan of the year's batches, worded as the release review words them
    (services.review.deviations), read for all batches at once."""
    if not ids:
        return []
    by_id = {b.id: b for b in found}
    lines: list[tuple[int, int, str]] = []  # (batch order, kind order, text)
    order = {b.id: i for i, b in enumerate(found)}
    components = db.session.scalars(
        sa.select(BatchComponent)
        .where(
            BatchComponent.batch_id.in_(ids),
            sa.or_(BatchComponent.within_tolerance.is_(False), BatchComponent.deviation_reason.is_not(None)),
        )
        .order_by(BatchComponent.batch_id, BatchComponent.id)
    )
    for c in components:
        batch = by_id[c.batch_id]
        if c.role == "api" and c.within_tolerance is False:
            tolerance = batch.formula_version.body.get("weighing_tolerance_percent", 0)
            text = (
                f"API weighing {c.deviation_percent or 0:+.2f} % outside the ±{tolerance:g} % tolerance; "
                f"reason: {c.deviation_reason or '(none given)'}"
            )
        elif c.deviation_reason:
            text = f"{c.material.code} lot {c.lot.barcode}: {c.deviation_reason}"
        else:
            continue
        lines.append((order[c.batch_id], 0, f"{batch.lot_number}: {text}"))
    checks: dict[int, list[WeightCheck]] = {}
    for check in db.session.scalars(
        sa.select(WeightCheck)
        .where(WeightCheck.batch_id.in_(ids))
        .order_by(WeightCheck.batch_id, WeightCheck.id)
    ):
        checks.setdefault(check.batch_id, []).append(check)
    for batch_id, made in checks.items():
        for i, check in enumerate(made):
            if not check.passed:
                reason = made[i + 1].reason if i + 1 < len(made) else None
                lines.append(
                    (
                        order[batch_id],
                        1,
                        f"{by_id[batch_id].lot_number}: capsule weight check of {_short(check.recorded_at)} failed: "
                        f"{check.summary.get('message', '')}; reason: {reason or '(none given)'}",
                    )
                )
    for batch in found:
        if batch.yield_percent is not None and compounding.yield_needs_reason(batch.yield_percent):
            lines.append(
                (
                    order[batch.id],
                    2,
                    f"{batch.lot_number}: yield {compounding.yield_reported(batch.yield_percent)} % of theoretical, "
                    f"outside 95–105 %; reason: {batch.yield_deviation_reason or '(none given)'}",
                )
            )
    invalidated = db.session.execute(
        sa.select(
            Result.batch_id,
            Result.test_key,
            Result.id,
            ResultInvalidation.investigation_id,
            ResultInvalidation.reason,
        )
        .join(ResultInvalidation, ResultInvalidation.result_id == Result.id)
        .where(Result.batch_id.in_(ids))
        .order_by(Result.batch_id, Result.id)
    ).all()
    for batch_id, key, result_id, investigation_id, reason in invalidated:
        lines.append(
            (
                order[batch_id],
                3,
                f"{by_id[batch_id].lot_number}: {test_label(key)} result {result_id} invalidated by "
                f"investigation {investigation_id}: {reason}",
            )
        )
    confirmed = db.session.scalars(
        sa.select(Investigation)
        .where(
            Investigation.batch_id.in_(ids),
            Investigation.status == "closed",
            Investigation.outcome == "confirmed",
        )
        .order_by(Investigation.batch_id, Investigation.id)
    )
    for inv in confirmed:
        lines.append(
            (
                order[inv.batch_id],
                4,
                f"{by_id[inv.batch_id].lot_number}: OOS confirmed for {test_label(inv.test_key)} by investigation "
                f"{inv.id}: {inv.conclusion}",
            )
        )
    for batch in found:
        if batch.discard_reason:
            lines.append(
                (order[batch.id], 5, f"{batch.lot_number}: discarded; reason: {batch.discard_reason}")
            )
    return [line for _, _, line in sorted(lines, key=lambda item: (item[0], item[1]))]


def _excursions(found: list[Batch], ids: list[int]) -> list[tuple[str, str, str, str, str]]:
    """Each excursion that held one of the year's batches: its latest disposition per batch (one
    statement), and for batches on hold the excursions still waiting for one."""
    if not ids:
        return []
    lots = {b.id: b.lot_number for b in found}
    latest: dict[tuple[int, int], Disposition] = {}
    for d in db.session.scalars(
        sa.select(Disposition).where(Disposition.batch_id.in_(ids)).order_by(Disposition.id)
    ):
        latest[(d.batch_id, d.excursion_id)] = d
    rows = []
    for (batch_id, _), d in sorted(latest.items(), key=lambda item: (item[1].excursion.start, item[0][0])):
        e = d.excursion
        rows.append(
            (
                lots[batch_id],
                e.storage_unit.code,
                f"{_short(e.start)} – {_short(e.end) if e.end else 'ongoing'}",
                f"{e.min_c:.1f}–{e.max_c:.1f} °C",
                f"{d.decision} by {d.decided_by.full_name}, {_short(d.decided_at)}: {d.comment}",
            )
        )
    for batch in found:
        if batch.status != "on_hold":
            continue
        for e in stays.pending_dispositions(batch.id):
            rows.append(
                (
                    batch.lot_number,
                    e.storage_unit.code,
                    f"{_short(e.start)} – {_short(e.end) if e.end else 'ongoing'}",
                    f"{e.min_c:.1f}–{e.max_c:.1f} °C",
                    "Awaiting a disposition: the batch is on hold.",
                )
            )
    return rows


def _test_limits(test: dict) -> str:
    unit = f" {test['unit']}" if test.get("unit") else ""
    if test.get("kind") == "range":
        decimals = test.get("decimals", 1)
        low = reported(test["min"], decimals) if test.get("min") is not None else None
        high = reported(test["max"], decimals) if test.get("max") is not None else None
        if low and high:
            return f"{low}–{high}{unit}"
        return f"≥ {low}{unit}" if low else f"≤ {high}{unit}"
    if test.get("kind") == "content_uniformity":
        return "AV ≤ 15.0 (L1)"
    return str(test.get("expected", ""))


def _versions(formula: Formula, found: list[Batch], period: Year) -> list[tuple[str, str, str, str]]:
    """Versions approved before the year ended and not superseded before it began, and any
    version a batch of the year was made with."""
    used = {b.formula_version_id for b in found}
    rows = []
    for v in sorted(formula.versions, key=lambda v: v.version):
        in_force = (
            v.approved_at is not None
            and v.approved_at < period.end
            and (v.superseded_at is None or v.superseded_at >= period.start)
        )
        if not (in_force or v.id in used):
            continue
        tests = v.body.get("specification", {}).get("tests", [])
        rows.append(
            (
                f"v{v.version}",
                _day(v.approved_at),
                _day(v.superseded_at) if v.superseded_at else "in force",
                "; ".join(f"{test_label(t['key'])} {_test_limits(t)}".strip() for t in tests) or "—",
            )
        )
    return rows


def _capability_text(series: trends.Series) -> str:
    numbers = series.trend.as_dict()
    capability = numbers["capability"]
    n = len(series.points)
    if capability is not None:
        low, high = capability["cpk_ci95"]
        return (
            f"Capability: n = {capability['n']}, Cpk {capability['cpk']:.2f}, Ppk {capability['ppk']:.2f}, "
            f"95 % CI of Cpk {low:.2f}–{high:.2f}."
        )
    if series.lsl is None and series.usl is None:
        return "Capability: not shown — the attribute has no specification limit."
    if n < 20:
        return f"Capability: not shown — it needs 20 points; this year has {n}."
    return "Capability: not shown — the spread is zero (every point equal)."


def _summary_text(series: trends.Series) -> str:
    numbers = series.trend.as_dict()
    n = len(series.points)
    if n == 0:
        return "No point in this year."
    parts = [f"{n} point{'s' if n != 1 else ''}", f"centre {numbers['center']:.2f}"]
    if numbers["ucl"] is not None:
        parts.append(f"control limits {numbers['lcl']:.2f}–{numbers['ucl']:.2f} (σ̂ {numbers['sigma']:.4f})")
    limits = [
        f"LSL {series.lsl:g}" if series.lsl is not None else "",
        f"USL {series.usl:g}" if series.usl is not None else "",
    ]
    if any(limits):
        parts.append("specification " + ", ".join(x for x in limits if x))
    text = "; ".join(parts) + "."
    if numbers["note"]:
        text += " " + numbers["note"]
    return text


def _trends(
    formula: Formula, found: list[Batch], period: Year
) -> tuple[list[TrendSection], list[tuple[str, str, str, str, str]]]:
    strengths = sorted({b.strength_mg for b in found if b.dosage_form != "trituration"})
    stored = {(s.attribute, s.strength_mg, s.rule, s.batch_id): s for s in trends.signals_of(formula)}
    year_ids = {b.id for b in found}
    sections: list[TrendSection] = []
    signal_rows: list[tuple[str, str, str, str, str]] = []
    shown: set[tuple] = set()
    for attribute in TREND_ATTRIBUTES:
        for strength in strengths:
            series = trends.series(formula.code, attribute, strength, period.first, period.last)
            if not series.points and attribute not in ALWAYS_CHARTED:
                continue
            title = f"{trends.ATTRIBUTE_LABELS[attribute]}, {strength:g} mg"
            chart = series.trend.chart
            sections.append(
                TrendSection(
                    title=title,
                    summary=_summary_text(series),
                    capability=_capability_text(series),
                    chart=ChartData(
                        values=[p.value for p in series.points],
                        center=chart.center,
                        lcl=chart.lcl,
                        ucl=chart.ucl,
                        lsl=series.lsl,
                        usl=series.usl,
                        signals=[(s.index, s.rule) for s in series.trend.signals],
                    )
                    if series.points
                    else None,
                )
            )
            for signal in series.trend.signals:
                point = series.points[signal.index]
                key = (attribute, strength, signal.rule, point.batch_id)
                shown.add(key)
                signal_rows.append(
                    (
                        title,
                        str(signal.rule),
                        point.lot_number,
                        signal.description,
                        _acknowledgement(stored.get(key)),
                    )
                )
    lots = {b.id: b.lot_number for b in found}
    for key, s in stored.items():  # signals raised on the whole history at one of this year's batches
        if key in shown or s.batch_id not in year_ids:
            continue
        title = f"{trends.ATTRIBUTE_LABELS[s.attribute]}, {s.strength_mg:g} mg"
        signal_rows.append((title, str(s.rule), lots[s.batch_id], s.description, _acknowledgement(s)))
    return sections, signal_rows


def _acknowledgement(signal: TrendSignal | None) -> str:
    if signal is None:
        return "Seen on this year's chart; not raised on the whole history."
    if signal.acknowledged_at is None:
        return "Not acknowledged yet."
    return f"{signal.acknowledged_by.full_name}, {_short(signal.acknowledged_at)}: {signal.comment}"


def content(
    formula: Formula,
    year: int,
    *,
    conclusions: str | None = None,
    signature: ReviewSignature | None = None,
    found: list[Batch] | None = None,
) -> ReviewContent:
    """Everything the review of ``formula`` for ``year`` prints."""
    period = _year(year)
    found = year_batches(formula, period) if found is None else found
    ids = [b.id for b in found]
    lots = {b.id: b.lot_number for b in found}
    sections, signal_rows = _trends(formula, found, period)
    config = current_app.config
    oos = _oos(ids, lots)
    return ReviewContent(
        pharmacy_name=config["QA_PHARMACY_NAME"],
        pharmacy_address=config.get("QA_PHARMACY_ADDRESS") or "",
        code=formula.code,
        name=formula.name,
        year=year,
        period=f"batches compounded {period.first.isoformat()} to {period.last.isoformat()} ({clock.zone().key})",
        printed=f"printed {local_time(clock.utcnow())}"
        if signature is None
        else f"signed {signature.signed_at}",
        counts=_counts(found) + [("OOS results", str(len(oos))), ("Trend signals", str(len(signal_rows)))],
        batches=[
            (b.lot_number, _strength(b), _day(b.compounded_at), b.status.replace("_", " ")) for b in found
        ],
        oos=[(o.lot_number, o.test, o.value, o.outcome, o.conclusion) for o in oos],
        deviations=_deviations(found, ids),
        excursions=_excursions(found, ids),
        versions=_versions(formula, found, period),
        trends=sections,
        signals=signal_rows,
        conclusions=conclusions,
        signature=signature,
    )


# --- preview, signing, reading --------------------------------------------------------------


def _reviewable(formula: Formula, year: int) -> list[Batch]:
    period = _year(year)
    if year > clock.today().year:
        raise WrongState(
            f"{year} has not begun yet: a year is reviewed once its batches are made.",
            {"year": "Give the current year or an earlier one."},
        )
    found = year_batches(formula, period)
    if not found:
        raise WrongState(
            f"No batch of {formula.code} was compounded in {year}: there is nothing to review.",
            {"year": "Give a year in which batches of this formula were compounded."},
        )
    return found


def get(code: str, year: int) -> ProductReview | None:
    formula = _formula(code)
    return db.session.scalar(
        sa.select(ProductReview).where(ProductReview.formula_id == formula.id, ProductReview.year == year)
    )


def signed_reviews(code: str) -> list[ProductReview]:
    formula = _formula(code)
    stmt = (
        sa.select(ProductReview)
        .where(ProductReview.formula_id == formula.id)
        .order_by(ProductReview.year.desc())
    )
    return list(db.session.scalars(stmt))


def preview_pdf(code: str, year: int) -> bytes:
    """The review as it would be signed now, watermarked DRAFT. Never stored."""
    formula = _formula(code)
    found = year_batches(formula, _year(year))
    if not found:
        raise NotFound(f"No batch of {formula.code} was compounded in {year}: there is nothing to review.")
    return product_review_pdf(content(formula, year, found=found))


def stored_pdf(review: ProductReview) -> bytes:
    """The bytes signed, checked against their stored hash before they leave."""
    data = review.pdf
    if hashlib.sha256(data).hexdigest() != review.sha256:
        raise RuntimeError(f"product review {review.id}: stored PDF does not match its SHA-256")
    return data


@dataclass(frozen=True)
class Document:
    data: bytes
    filename: str
    status: str
    """"signed" or "draft"."""
    sha256: str | None = None


def document(code: str, year: int) -> Document:
    """The signed review byte for byte, or before signing a preview marked DRAFT."""
    signed = get(code, year)
    if signed is not None:
        return Document(
            stored_pdf(signed), f"{signed.formula.code}-review-{year}.pdf", "signed", signed.sha256
        )
    formula = _formula(code)
    return Document(preview_pdf(formula.code, year), f"{formula.code}-review-{year}-DRAFT.pdf", "draft")


def sign(actor: User, code: str, year: int, conclusions: str | None, given: SignatureInput) -> ProductReview:
    """Render the review with the reviewer's conclusions and signature block, sign it (meaning
    ``reviewed``) bound to the PDF's SHA-256, and store the bytes: one review per formula and year."""
    require_role(actor, "reviewer")
    formula = _formula(code)
    text = (conclusions or "").strip()
    if not text:
        raise InvalidInput(
            "Write the conclusions of the review.",
            {"conclusions": "Required: what the year's batches, results and trends show, and what follows."},
        )
    if len(text) > MAX_CONCLUSIONS:
        raise InvalidInput(
            "The conclusions are too long.", {"conclusions": f"Use at most {MAX_CONCLUSIONS} characters."}
        )
    found = _reviewable(formula, year)
    if get(formula.code, year) is not None:
        raise WrongState(f"The {year} review of {formula.code} is signed already; it cannot be signed again.")
    now = clock.utcnow()
    block = ReviewSignature(actor.full_name, MEANING, local_time(now))
    data = product_review_pdf(content(formula, year, conclusions=text, signature=block, found=found))
    sha256 = hashlib.sha256(data).hexdigest()
    key = f"{formula.code}/{year}"
    signature = signatures.sign(
        actor,
        given,
        action="review_product",
        entity_type="product_review",
        entity_key=key,
        content={"formula": formula.code, "year": year, "sha256": sha256, "conclusions": text},
    )
    review = ProductReview(
        formula_id=formula.id,
        year=year,
        conclusions=text,
        pdf=data,
        sha256=sha256,
        size=len(data),
        signed_by_id=actor.id,
        signature_id=signature.id,
        signed_at=now,
    )
    db.session.add(review)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"The {year} review of {formula.code} was signed by someone else just now.") from None
    audit.record(
        "product_review.signed",
        "product_review",
        key,
        actor=actor,
        new={
            "formula": formula.code,
            "year": year,
            "batches": len(found),
            "sha256": sha256,
            "size": len(data),
            "signature_id": signature.id,
        },
    )
    db.session.commit()
    return review
