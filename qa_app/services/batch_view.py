"""Everything a batch page or the API's Batch shows, loaded in a fixed number of statements."""

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.domain import compounding
from qa_app.errors import NotFound
from qa_app.extensions import db
from qa_app.models import (
    AuditEvent,
    Batch,
    BatchComponent,
    BatchLocation,
    Disposition,
    Excursion,
    FormulaVersion,
    Signature,
    WeightCheck,
)
from qa_app.services import batches, clock, judgement, readings, stays
from qa_app.services.pagination import Page, count


@dataclass(frozen=True)
class BatchView:
    batch: Batch
    components: list[BatchComponent]
    weight_checks: list[WeightCheck]
    locations: list[BatchLocation]
    signatures: list[Signature]
    history: list[AuditEvent]
    missing: list[str]
    expired: bool
    near_bud: bool
    specification_current: bool
    newer_version: int | None
    evidence: judgement.Evidence
    holds: list[dict]
    missing_tests: list[str]

    @cached_property
    def storage(self) -> "StorageHistory":
        """Each stay with its temperatures, and the excursions met: loaded only when a page asks."""
        return storage_history(self.batch)

    @cached_property
    def steps(self) -> list["Step"]:
        """The record's stages for the step bar: done, current, to do or not needed."""
        completed_by = next(
            (e.username or "" for e in reversed(self.history) if e.action == "batch.completed"), ""
        )
        return steps(self.batch, self.components, self.weight_checks, completed_by)

    @property
    def current_step(self) -> "Step | None":
        return next((s for s in self.steps if s.state == "current"), None)

    def open_steps(self, submitted: str | None = None) -> set[str]:
        """The steps shown open: see `open_steps`."""
        return open_steps(self.steps, submitted)


def load(lot_number: str, with_history: bool = True) -> BatchView:
    stmt = (
        sa.select(Batch)
        .where(Batch.lot_number == (lot_number or "").strip().upper())
        .options(
            so.joinedload(Batch.formula_version).joinedload(FormulaVersion.formula),
            so.joinedload(Batch.api_lot),
            so.joinedload(Batch.api_verified_by),
            so.selectinload(Batch.components),
            so.selectinload(Batch.weight_checks),
            so.selectinload(Batch.locations),
        )
    )
    batch = db.session.scalar(stmt)
    if batch is None:
        raise NotFound(f"No batch with lot number {lot_number!r}.")
    signatures = list(
        db.session.scalars(
            sa.select(Signature)
            .where(Signature.entity_type == "batch", Signature.entity_key == batch.lot_number)
            .order_by(Signature.signed_at, Signature.id)
        )
    )
    history = (
        list(
            db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.entity_type == "batch", AuditEvent.entity_key == batch.lot_number)
                .order_by(AuditEvent.seq)
            )
        )
        if with_history
        else []
    )
    newest = db.session.scalar(
        sa.select(sa.func.max(FormulaVersion.version)).where(
            FormulaVersion.formula_id == batch.formula_version.formula_id, FormulaVersion.status == "approved"
        )
    )
    today = clock.today()
    proof = judgement.evidence(batch.id)
    return BatchView(
        batch=batch,
        components=list(batch.components),
        weight_checks=list(batch.weight_checks),
        locations=list(batch.locations),
        signatures=signatures,
        history=history,
        missing=batches.missing_for_completion(batch) if batch.status == "draft" else [],
        expired=compounding.expired(batch.bud, today),
        near_bud=compounding.near_bud(batch.bud, today),
        specification_current=newest is None or newest == batch.formula_version.version,
        newer_version=newest if newest and newest != batch.formula_version.version else None,
        evidence=proof,
        holds=judgement.holds(batch, proof),
        missing_tests=judgement.missing_tests(batch, proof),
    )


# --- the guided record: the batch's steps, derived from what is recorded ------------------------

STAGES = ("prepare", "weigh", "verify", "fill", "check", "complete")
STAGE_NAMES = {
    "prepare": "Prepare",
    "weigh": "Weigh",
    "verify": "Verify",
    "fill": "Fill",
    "check": "Check",
    "complete": "Complete",
}
STATE_WORDS = {"done": "done", "current": "current", "todo": "to do", "na": "not needed"}


@dataclass(frozen=True)
class Step:
    """One stage of the record: where it stands, who did it and when, what it recorded, what it needs."""

    key: str
    name: str
    state: str  # done, current, todo or na (not applicable)
    recorded: str = ""
    who: str = ""
    when: datetime | None = None
    needs: tuple[str, ...] = ()
    instructions: tuple[str, ...] = ()
    procedure: tuple[str, ...] = ()  # the formula's untagged steps, shown under Prepare

    @property
    def state_words(self) -> str:
        return STATE_WORDS[self.state]


def formula_instructions(lines: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """The formula's steps by stage: a line starting "Weigh:" (any case) belongs to Weigh, without
    the prefix; lines without a stage word are the procedure, kept in their order."""
    tagged: dict[str, list[str]] = {stage: [] for stage in STAGES}
    untagged: list[str] = []
    for line in lines:
        head, colon, rest = line.partition(":")
        stage = head.strip().lower()
        if colon and stage in tagged and rest.strip():
            tagged[stage].append(rest.strip())
        else:
            untagged.append(line)
    return tagged, untagged


def _mg(value: float) -> str:
    return f"{value:,.2f} mg"


def _amount(component: BatchComponent) -> str:
    if component.count is not None:
        return f"{component.count} units"
    return _mg(component.quantity_mg) if component.quantity_mg is not None else ""


def _who(people: list[str]) -> str:
    return ", ".join(dict.fromkeys(people))


@dataclass(frozen=True)
class _Fact:
    """What the record shows of one stage: whether it is done, by whom and when, and what it needs."""

    done: bool
    needs: tuple[str, ...]
    recorded: str = ""
    who: str = ""
    when: datetime | None = None


def _prepare(batch: Batch, components: list[BatchComponent]) -> "_Fact":
    body = batch.formula_version.body
    wanted = [c for c in body["components"] if c["role"] != "api"]
    recorded = {c.material.code: c for c in components if c.role != "api"}
    done = [recorded[c["material"]] for c in wanted if c["material"] in recorded]
    return _Fact(
        done=len(done) == len(wanted),
        recorded="; ".join(f"{c.material.code} lot {c.lot.barcode} {_amount(c)}" for c in done)
        or "nothing to prepare besides the API",
        who=_who([c.recorded_by.username for c in done]),
        when=max((c.recorded_at for c in done), default=None),
        needs=tuple(
            f"{c['material']} ({c['role']}): "
            + (
                f"recorded, lot {recorded[c['material']].lot.barcode}"
                if c["material"] in recorded
                else "scan its lot and record it"
                + (" (count the units)" if c["role"] == "container" else " (weigh it on a named balance)")
            )
            for c in wanted
        ),
    )


def _weigh(batch: Batch, components: list[BatchComponent]) -> "_Fact":
    body = batch.formula_version.body
    api = next((c for c in components if c.role == "api"), None)
    target = batch.calculation["api_mg"]
    tolerance = body.get("weighing_tolerance_percent")
    needs = (
        f"Weigh {_mg(target)} of the API ({', '.join(c['material'] for c in body['components'] if c['role'] == 'api')})"
        + (f", within ± {tolerance:g} %" if tolerance is not None else "")
        + ", on a named balance that is usable today.",
    )
    if api is None:
        return _Fact(done=False, needs=needs)
    balance = f" on {api.balance}" if api.balance else ""
    deviation = (
        f" ({api.deviation_percent:+.2f} %{'' if api.within_tolerance else ', outside the tolerance'})"
        if api.deviation_percent is not None
        else ""
    )
    return _Fact(
        done=True,
        recorded=f"{_amount(api)}{balance}{deviation}, lot {api.lot.barcode}",
        who=api.recorded_by.username,
        when=api.recorded_at,
        needs=needs,
    )


def _verify(batch: Batch) -> "_Fact":
    needs = (
        "A second person, neither the compounder nor the person who weighed, checks the API weighing "
        "and signs with their own username and password.",
    )
    if batch.api_verified_by_id is None:
        return _Fact(done=False, needs=needs)
    who = batch.api_verified_by.username if batch.api_verified_by else ""
    return _Fact(
        done=True,
        recorded="API weighing verified",
        who=who,
        when=batch.api_verified_at,
        needs=needs,
    )


def _fill(batch: Batch, weight_checks: list[WeightCheck], completed_by: str) -> "_Fact":
    body = batch.formula_version.body
    unit = batch.calculation.get("quantity_unit", "")
    if batch.dosage_form == "capsule":
        needs = (
            f"Fill {batch.quantity:g} capsules"
            + (f", size #{body['capsule_size']}" if body.get("capsule_size") else "")
            + (
                f", {batch.calculation['theoretical_unit_mg']} mg each"
                if batch.calculation.get("theoretical_unit_mg")
                else ""
            )
            + "; the capsule weight check that follows records the fill.",
        )
        if weight_checks:
            first = weight_checks[0]
            return _Fact(
                done=True,
                recorded="capsules filled, weighed in the capsule weight check",
                who=first.recorded_by.username,
                when=first.recorded_at,
                needs=needs,
            )
    else:
        needs = (
            f"Fill into containers ({body.get('container') or 'as the formula says'}); "
            f"the amount filled is recorded as the actual yield when you complete.",
        )
    if batch.status != "draft" and batch.actual_yield is not None:
        return _Fact(
            done=True,
            recorded=f"filled into containers: {batch.actual_yield:g} {unit}",
            who=completed_by,
            when=batch.completed_at,
            needs=needs,
        )
    return _Fact(done=False, needs=needs)


def _check(batch: Batch, weight_checks: list[WeightCheck]) -> "_Fact":
    unit_mg = batch.calculation.get("theoretical_unit_mg")
    needs = (
        "At least 10 capsule content weights, one per line"
        + (f", each 90–110 % of {unit_mg} mg" if unit_mg else "")
        + ".",
    )
    if not weight_checks:
        return _Fact(done=False, needs=needs)
    last = weight_checks[-1]
    summary = last.summary
    words = f"n = {summary['n']}, mean {summary['mean_mg']:.2f} mg"
    if summary.get("rsd_percent") is not None:
        words += f", RSD {summary['rsd_percent']} %"
    if not last.passed:
        return _Fact(
            done=False,
            needs=(
                *needs,
                f"The last check failed ({summary['message']}); record a passing one with the reason.",
            ),
        )
    failed = sum(1 for w in weight_checks if not w.passed)
    earlier = f" after {failed} failed check{'s' if failed != 1 else ''}" if failed else ""
    return _Fact(
        done=True,
        recorded=f"passed{earlier}: {words}",
        who=last.recorded_by.username,
        when=last.recorded_at,
        needs=needs,
    )


def _complete(batch: Batch, completed_by: str) -> "_Fact":
    unit = batch.calculation.get("quantity_unit", "")
    needs = (f"The actual yield (theoretical {batch.quantity:g} {unit}) and the storage unit it goes to.",)
    if batch.completed_at is None:
        return _Fact(done=False, needs=needs)
    percent = f" ({batch.yield_percent:.1f} %)" if batch.yield_percent is not None else ""
    place = batch.locations[0].storage_unit.code if batch.locations else ""
    return _Fact(
        done=True,
        recorded=f"{batch.actual_yield:g} {unit}{percent} to quarantine" + (f" in {place}" if place else ""),
        who=completed_by,
        when=batch.completed_at,
        needs=needs,
    )


def steps(
    batch: Batch,
    components: list[BatchComponent],
    weight_checks: list[WeightCheck],
    completed_by: str = "",
) -> list[Step]:
    """The six stages of the record in order, each done, current, to do or not needed.

    Only what is recorded decides: the components, the verification, the weight checks and the
    completion. A draft's current step is the first one not done; a capsule's fill is shown by its
    weight check, any other form's by the yield filled at completion.
    """
    tagged, procedure = formula_instructions(list(batch.formula_version.body.get("steps", [])))
    facts = {
        "prepare": _prepare(batch, components),
        "weigh": _weigh(batch, components),
        "verify": _verify(batch),
        "fill": _fill(batch, weight_checks, completed_by),
        "check": _check(batch, weight_checks) if batch.dosage_form == "capsule" else None,
        "complete": _complete(batch, completed_by),
    }
    result: list[Step] = []
    current_found = batch.status != "draft"
    for key in STAGES:
        fact = facts[key]
        if fact is None:
            state = "na"
            fact = _Fact(False, (f"Not needed for {batch.dosage_form.replace('_', ' ')}.",))
        elif fact.done:
            state = "done"
        elif not current_found:
            state, current_found = "current", True
        else:
            state = "todo"
        result.append(
            Step(
                key=key,
                name=STAGE_NAMES[key],
                state=state,
                recorded=fact.recorded if state == "done" else "",
                who=fact.who if state == "done" else "",
                when=fact.when if state == "done" else None,
                needs=fact.needs,
                instructions=tuple(tagged[key]),
                procedure=tuple(procedure) if key == "prepare" else (),
            )
        )
    return result


def open_steps(record_steps: list[Step], submitted: str | None = None) -> set[str]:
    """The steps a technician sees open: the current one; after a fill, which records nothing of
    its own, the next step too, whose form records it; and the step whose form was just refused."""
    opened = {submitted} if submitted else set()
    applicable = [s for s in record_steps if s.state != "na"]
    for i, step in enumerate(applicable):
        if step.state == "current":
            opened.add(step.key)
            if step.key == "fill" and i + 1 < len(applicable):
                opened.add(applicable[i + 1].key)
    return opened


@dataclass(frozen=True)
class StorageHistory:
    stays: list[readings.Stay]
    excursions: list[Excursion]
    dispositions: dict[int, Disposition]


def storage_history(batch: Batch) -> StorageHistory:
    """Where the batch has been with the readings of each stay, and the excursions it was in."""
    return StorageHistory(
        stays=readings.batch_storage(batch),
        excursions=stays.for_batch(batch.id),
        dispositions=stays.dispositions_for(batch.id),
    )


def list_page(filters: batches.BatchFilter, page: int, per_page: int) -> Page:
    """One page of batches with what a list row shows, in a fixed number of statements.

    The page's ids are found first (the sort then touches ids only, from the indexes), and the
    rows with their formula, compounder and storage unit are loaded for those ids alone.
    """
    base = filters.statement()
    total = count(base)
    ids = list(
        db.session.scalars(base.with_only_columns(Batch.id).limit(per_page).offset((page - 1) * per_page))
    )
    rows = db.session.scalars(
        sa.select(Batch)
        .where(Batch.id.in_(ids))
        .options(
            so.joinedload(Batch.formula_version).joinedload(FormulaVersion.formula),
            so.joinedload(Batch.compounded_by),
            so.joinedload(Batch.storage_unit),
        )
        .order_by(Batch.id.desc())
    )
    return Page(items=list(rows), page=page, per_page=per_page, total=total)
