"""The release checklist: computed here, once, for the review page, the API and the release itself.

Each item says whether it holds and, in words, why; the release service refuses while any item
fails, naming those items, so a page can never offer a release the server would refuse. The
review also tells who did what and when, from the batch's audit trail.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from qa_app.domain import compounding
from qa_app.domain.rounding import round_half_up
from qa_app.extensions import db
from qa_app.models import AuditEvent, Batch, BatchComponent, BatchDecision, Certificate, User
from qa_app.services import batch_view, clock, stays
from qa_app.services.batch_view import BatchView
from qa_app.services.results import TEST_LABELS


@dataclass(frozen=True)
class CheckItem:
    key: str
    label: str
    ok: bool
    detail: str
    lines: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "ok": self.ok,
            "detail": self.detail,
            "lines": list(self.lines),
        }


@dataclass(frozen=True)
class Step:
    """One thing a person (or the system) did to the batch, from the audit trail."""

    at: datetime
    who: str
    what: str


@dataclass(frozen=True)
class Review:
    view: BatchView
    items: list[CheckItem]
    steps: list[Step]
    deviations: list[str]
    decisions: list[BatchDecision] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)

    @property
    def batch(self) -> Batch:
        return self.view.batch

    @property
    def unmet(self) -> list[CheckItem]:
        return [item for item in self.items if not item.ok]

    @property
    def ready(self) -> bool:
        """Every item holds and the batch awaits release: it may be released (by someone who did not make it)."""
        return not self.unmet and self.batch.status == "awaiting_release"

    @property
    def certificate(self) -> Certificate | None:
        """The batch's newest certificate, whatever its status."""
        return self.certificates[-1] if self.certificates else None


def test_label(key: str) -> str:
    return TEST_LABELS.get(key, key.replace("_", " ").capitalize())


def load(lot_number: str) -> Review:
    """The checklist, the deviations and the people of one batch."""
    view = batch_view.load(lot_number)
    return review_of(view)


def review_of(view: BatchView) -> Review:
    batch = view.batch
    found_deviations = deviations(view)
    items = [
        _status(view),
        _components(view),
        _api_weighing(view),
        _deviations_item(found_deviations),
        _in_process(view),
        _tests(view),
        _investigations(view),
        _excursions(view),
        _bud(view),
        _specification(view),
    ]
    decisions = list(
        db.session.scalars(
            sa.select(BatchDecision).where(BatchDecision.batch_id == batch.id).order_by(BatchDecision.id)
        )
    )
    certificates = list(
        db.session.scalars(
            sa.select(Certificate).where(Certificate.batch_id == batch.id).order_by(Certificate.version)
        )
    )
    return Review(view, items, steps(view.history), found_deviations, decisions, certificates)


def _status(view: BatchView) -> CheckItem:
    batch = view.batch
    label = "Awaiting release: results judged and nothing holds the batch"
    texts = {
        "awaiting_release": "The batch is awaiting release.",
        "draft": "The batch is still a draft: compounding is not complete.",
        "quarantine": "The batch is in quarantine: required results are still missing.",
        "on_hold": "The batch is on hold: " + " ".join(h["message"] for h in view.holds),
        "released": "The batch is released.",
        "rejected": "The batch was rejected.",
        "recalled": "The batch was recalled.",
        "discarded": "The batch was discarded.",
    }
    # A released batch met this item when it was released; it reads as met ever after.
    return CheckItem(
        "status",
        label,
        batch.status in ("awaiting_release", "released"),
        texts.get(batch.status, batch.status),
    )


def _lot_problems(view: BatchView) -> tuple[list[str], list[str]]:
    lines, problems = [], []
    batch = view.batch
    recorded = {c.material.code for c in view.components}
    for wanted in batch.formula_version.body["components"]:
        if wanted["material"] not in recorded:
            problems.append(f"{wanted['material']} ({wanted['role']}) is not recorded")
    for c in view.components:
        lot = c.lot
        used_on = clock.local_date(c.recorded_at)
        amount = f"{c.count} units" if c.count is not None else f"{c.quantity_mg:g} mg"
        line = (
            f"{c.material.code} lot {lot.barcode} ({lot.supplier}, supplier lot {lot.supplier_lot}): {amount}, "
            f"used {used_on.isoformat()}, expiry {lot.expiry_date.isoformat()}, {lot.status}"
        )
        if lot.status != "approved" or (lot.decided_at is not None and lot.decided_at > c.recorded_at):
            problems.append(f"lot {lot.barcode} was not approved when it was used")
        if lot.expiry_date < used_on:
            problems.append(f"lot {lot.barcode} had expired ({lot.expiry_date.isoformat()}) when it was used")
        lines.append(line)
    return lines, problems


def _components(view: BatchView) -> CheckItem:
    lines, problems = _lot_problems(view)
    label = "Every component recorded, from approved lots that were in date when used"
    if problems:
        return CheckItem("components", label, False, _sentence(problems), tuple(lines))
    return CheckItem(
        "components", label, True, f"{len(lines)} component lot(s), all approved and in date.", tuple(lines)
    )


def _api_weighing(view: BatchView) -> CheckItem:
    batch = view.batch
    label = "API weighing verified by a second person"
    weighing = next((c for c in view.components if c.role == "api"), None)
    if weighing is None:
        return CheckItem("api_weighing", label, False, "The API weighing is not recorded.")
    weighed = (
        f"{weighing.quantity_mg:g} mg of lot {weighing.lot.barcode} weighed by {weighing.recorded_by.full_name} "
        f"at {_local(weighing.recorded_at)} against {weighing.theoretical_mg:.2f} mg calculated "
        f"({weighing.deviation_percent:+.2f} %)"
    )
    verifier = batch.api_verified_by
    if verifier is None:
        return CheckItem("api_weighing", label, False, f"{weighed}; not verified yet.")
    if verifier.id in (batch.compounded_by_id, weighing.recorded_by_id):
        return CheckItem("api_weighing", label, False, f"{weighed}; verified by the same person.")
    return CheckItem(
        "api_weighing",
        label,
        True,
        f"{weighed}; verified by {verifier.full_name} at {_local(batch.api_verified_at)}.",
    )


def deviations(view: BatchView) -> list[str]:
    """Every departure from the plan on this batch, in words, with its reason."""
    batch = view.batch
    found = []
    for c in view.components:
        if c.role == "api" and c.within_tolerance is False:
            found.append(
                f"API weighing {c.deviation_percent:+.2f} % outside the "
                f"±{batch.formula_version.body['weighing_tolerance_percent']:g} % tolerance; "
                f"reason: {c.deviation_reason or '(none given)'}"
            )
        elif c.deviation_reason:
            found.append(f"{c.material.code} lot {c.lot.barcode}: {c.deviation_reason}")
    checks = view.weight_checks
    for i, check in enumerate(checks):
        if not check.passed:
            # A failed check is documented by the reason given for the check made after it.
            reason = checks[i + 1].reason if i + 1 < len(checks) else None
            found.append(
                f"Capsule weight check of {_local(check.recorded_at)} failed: {check.summary.get('message', '')}; "
                f"reason: {reason or '(none given)'}"
            )
    if batch.yield_percent is not None and compounding.yield_needs_reason(batch.yield_percent):
        found.append(
            f"Yield {compounding.yield_reported(batch.yield_percent)} % of theoretical, outside 95–105 %; "
            f"reason: {batch.yield_deviation_reason or '(none given)'}"
        )
    proof = view.evidence
    for result in proof.results:
        invalidation = proof.invalidated.get(result.id)
        if invalidation is not None:
            found.append(
                f"{test_label(result.test_key)} result {result.id} invalidated by investigation "
                f"{invalidation.investigation_id}: {invalidation.reason}"
            )
    for inv in proof.investigations:
        if inv.status == "closed" and inv.outcome == "confirmed":
            found.append(
                f"OOS confirmed for {test_label(inv.test_key)} by investigation {inv.id}: {inv.conclusion}"
            )
    for excursion_id, disposition in stays.dispositions_for(batch.id).items():
        found.append(
            f"Excursion {excursion_id} ({disposition.excursion.storage_unit.code}, "
            f"{disposition.excursion.min_c:.1f}–{disposition.excursion.max_c:.1f} °C): disposition "
            f"{disposition.decision} by {disposition.decided_by.full_name}; {disposition.comment}"
        )
    return found


def _deviations_item(found: list[str]) -> CheckItem:
    label = "Deviations listed, each with its reason"
    missing = [d for d in found if "(none given)" in d]
    if missing:
        return CheckItem(
            "deviations", label, False, f"{len(missing)} deviation(s) without a reason.", tuple(found)
        )
    detail = f"{len(found)} deviation(s), each documented." if found else "No deviation recorded."
    return CheckItem("deviations", label, True, detail, tuple(found))


def _in_process(view: BatchView) -> CheckItem:
    batch = view.batch
    label = "In-process checks passed"
    lines, problems = [], []
    if batch.dosage_form == "capsule":
        if not view.weight_checks:
            problems.append("no capsule weight check recorded")
        else:
            last = view.weight_checks[-1]
            lines.append(
                f"Capsule weight check ({_local(last.recorded_at)}): {last.summary.get('message', '')}"
            )
            if not last.passed:
                problems.append("the last capsule weight check failed")
    if batch.yield_percent is None:
        problems.append("no yield recorded")
    else:
        reported = compounding.yield_reported(batch.yield_percent)
        text = f"Yield {batch.actual_yield:g} of {batch.quantity:g} {batch.calculation.get('quantity_unit', '')} = {reported} %"
        if compounding.yield_needs_reason(batch.yield_percent):
            text += f", outside 95–105 %: {batch.yield_deviation_reason or '(no reason)'}"
            if not batch.yield_deviation_reason:
                problems.append("a yield outside 95–105 % has no reason")
        lines.append(text)
    if problems:
        return CheckItem("in_process", label, False, _sentence(problems), tuple(lines))
    return CheckItem("in_process", label, True, "Passed.", tuple(lines))


def result_text(result) -> str:
    """A result as printed: the reported value with its unit, the CU statistics, or the observation."""
    evaluation = result.evaluation
    if result.kind == "content_uniformity":
        return (
            f"AV {evaluation.get('av_reported')} (stage {evaluation.get('stage')}, n = {evaluation.get('n')}; "
            f"X̄ {evaluation.get('mean_reported')} %, s {evaluation.get('sd_reported')})"
        )
    if result.kind == "attribute":
        return result.text_value or ""
    unit = f" {result.unit}" if result.unit else ""
    return f"{evaluation.get('reported', result.values[0] if result.values else '')}{unit}"


def _tests(view: BatchView) -> CheckItem:
    batch = view.batch
    label = "Every required test has a valid, passing result"
    proof = view.evidence
    lines = []
    for test in batch.specification["tests"]:
        mine = [r for r in proof.valid_results if r.test_key == test["key"]]
        required = "required" if test.get("required", True) else "optional"
        if not mine:
            waiting = " (stage 1 done; 20 more units needed)" if test["key"] in proof.pending_stage1 else ""
            lines.append(f"{test_label(test['key'])} ({required}): no valid result{waiting}")
            continue
        for r in mine:
            lines.append(f"{test_label(test['key'])} ({required}): {result_text(r)} — {r.status}")
    missing = view.missing_tests
    if missing:
        names = ", ".join(test_label(k) for k in missing)
        return CheckItem("tests", label, False, f"Missing or not passing: {names}.", tuple(lines))
    return CheckItem("tests", label, True, "Every required test passes.", tuple(lines))


def _investigations(view: BatchView) -> CheckItem:
    label = "No open OOS investigation"
    lines, problems = [], []
    for inv in view.evidence.investigations:
        if inv.status == "open":
            problems.append(
                f"investigation {inv.id} on {test_label(inv.test_key)} is open (phase {inv.phase})"
            )
            lines.append(f"Investigation {inv.id} ({test_label(inv.test_key)}): open, phase {inv.phase}")
        else:
            lines.append(
                f"Investigation {inv.id} ({test_label(inv.test_key)}): closed {inv.outcome} by "
                f"{inv.closed_by.full_name if inv.closed_by else '?'} — {inv.conclusion}"
            )
            if inv.outcome == "confirmed":
                problems.append(f"investigation {inv.id} confirmed the OOS: the batch can only be rejected")
    if problems:
        return CheckItem("investigations", label, False, _sentence(problems), tuple(lines))
    detail = f"{len(lines)} investigation(s), all closed." if lines else "No investigation."
    return CheckItem("investigations", label, True, detail, tuple(lines))


def _excursions(view: BatchView) -> CheckItem:
    label = "No temperature excursion awaiting disposition"
    waiting = [h["message"] for h in view.holds if h["kind"] == "excursion"]
    if waiting:
        return CheckItem(
            "excursions", label, False, f"{len(waiting)} excursion(s) await a disposition.", tuple(waiting)
        )
    return CheckItem("excursions", label, True, "None awaits a disposition.")


def _bud(view: BatchView) -> CheckItem:
    batch = view.batch
    label = "Beyond-use date not passed"
    today = clock.today()
    days = (batch.bud - today).days
    if view.expired:
        return CheckItem("bud", label, False, f"BUD {batch.bud.isoformat()} has passed ({-days} day(s) ago).")
    when = "today is the BUD" if days == 0 else f"{days} day(s) from today"
    return CheckItem("bud", label, True, f"BUD {batch.bud.isoformat()}: {when}. {batch.bud_reason}")


def _specification(view: BatchView) -> CheckItem:
    spec = view.batch.specification
    detail = f"{spec.get('formula')} v{spec.get('version')}, frozen on the batch when it was created"
    if view.newer_version:
        detail += f"; version {view.newer_version} is now approved and does not re-judge this batch"
    return CheckItem("specification", "Specification version", True, detail + ".")


def _sentence(parts: list[str]) -> str:
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M %Z")


STEP_TEXT = {
    "batch.created": lambda n: "opened the compounding record",
    "batch.recalculated": lambda n: "recalculated for another API lot",
    "batch.component_recorded": lambda n: (
        f"recorded {n.get('material')} lot {n.get('lot')}"
        + (
            f" ({n['quantity_mg']:g} mg)"
            if n.get("quantity_mg")
            else f" ({n.get('count')} units)"
            if n.get("count")
            else ""
        )
    ),
    "batch.weighing_verified": lambda n: "verified the API weighing (signed)",
    "batch.weight_check": lambda n: (
        f"recorded the capsule weight check ({'passed' if n.get('passed') else 'failed'})"
    ),
    "batch.completed": lambda n: f"completed the batch; placed in {n.get('storage_unit')}",
    "batch.moved": lambda n: f"moved the batch to {n.get('storage_unit')}",
    "result.recorded": lambda n: f"recorded a result for {test_label(n.get('test', ''))} ({n.get('status')})",
    "investigation.opened": lambda n: f"opened investigation {n.get('investigation_id')} on {n.get('test')}",
    "investigation.escalated": lambda n: f"took investigation {n.get('investigation_id')} to phase II",
    "investigation.closed": lambda n: (
        f"closed investigation {n.get('investigation_id')} ({n.get('outcome')}, signed)"
    ),
    "batch.disposition_recorded": lambda n: (
        f"recorded the disposition {n.get('decision')} on excursion {n.get('excursion_id')}"
    ),
    "batch.status_changed": lambda n: f"status → {str(n.get('status', '')).replace('_', ' ')}",
    "batch.released": lambda n: f"released the batch (signed); certificate {n.get('certificate')}",
    "batch.rejected": lambda n: "rejected the batch (signed)",
    "batch.recalled": lambda n: "recalled the batch (signed)",
}


def steps(history: list[AuditEvent]) -> list[Step]:
    """Who did what and when, oldest first, from the batch's own audit events."""
    names = _full_names({e.username for e in history if e.username})
    found = []
    for event in history:
        phrase = STEP_TEXT.get(event.action)
        if phrase is None:
            continue
        who = names.get(event.username, event.username) if event.username else "the system"
        found.append(Step(event.occurred_at, who, phrase(event.new_values or {})))
    return found


def _full_names(usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    rows = db.session.execute(sa.select(User.username, User.full_name).where(User.username.in_(usernames)))
    return {username: f"{full_name} ({username})" for username, full_name in rows}


def releaser_problem(actor: User, batch: Batch) -> str | None:
    """Why ``actor`` may not release ``batch`` (segregation of duties), or None."""
    if actor.id == batch.compounded_by_id:
        return "You compounded this batch; another reviewer must release it."
    if actor.id == batch.api_verified_by_id:
        return "You verified this batch's API weighing; another reviewer must release it."
    weigher = db.session.scalar(
        sa.select(BatchComponent.recorded_by_id).where(
            BatchComponent.batch_id == batch.id, BatchComponent.role == "api"
        )
    )
    if weigher is not None and actor.id == weigher:
        return "You weighed this batch's API; another reviewer must release it."
    return None


def reported(value: float | None, decimals: int = 1) -> str:
    return "—" if value is None else format(round_half_up(value, decimals), "f")
