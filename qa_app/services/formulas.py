"""Master formulas: versions drafted by an admin, approved by someone else's signature."""

import copy
from typing import Any

import sqlalchemy as sa

from qa_app.domain import bud_rules
from qa_app.domain.compounding import STRENGTH_MAX_MG, STRENGTH_MIN_MG
from qa_app.domain.formula_schema import FORMULA, LIQUID_FORMS, default_specification
from qa_app.errors import Conflict, InvalidInput, NotFound, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import Formula, FormulaVersion, Material, User
from qa_app.services import audit, clock, signatures
from qa_app.services.accounts import require_role
from qa_app.services.signatures import SignatureInput
from qa_app.validation import validate

APPROVERS = ("reviewer", "admin")


def normalise(body: dict[str, Any]) -> dict[str, Any]:
    """The formula body checked and completed with its defaults, or InvalidInput naming each field."""
    validate(FORMULA, body)
    body = copy.deepcopy(body)
    body["code"] = body["code"].strip().upper()
    body.setdefault("description", "")
    body.setdefault("overage_percent", 0.0)
    body.setdefault("weighing_tolerance_percent", 2.0)
    for name in ("steps", "equipment"):
        body.setdefault(name, [])
    for name in ("container", "label_text", "capsule_size"):
        body.setdefault(name, "")
    body.setdefault("specification", default_specification(body["dosage_form"]))
    fields: dict[str, str] = {}
    if body["dosage_form"] == "trituration":
        _check_trituration(body, fields)
    else:
        _check_strengths(body, fields)
    if body["dosage_form"] == "capsule" and "fill_weight_mg" not in body:
        fields["fill_weight_mg"] = "Required for capsules: the calibrated fill weight per capsule."
    _check_components(body, fields)
    _check_tests(body, fields)
    fields.update(bud_rules.rule_breaches(body))
    if fields:
        raise InvalidInput("The formula was not saved: correct the marked fields.", fields)
    return body


def _check_strengths(body: dict[str, Any], fields: dict[str, str]) -> None:
    for name in ("concentration_percent", "produces"):
        if name in body:
            fields[name] = "Only a trituration has a concentration in % w/w and an intermediate it produces."
    for name in ("strength_min_mg", "strength_max_mg"):
        if name not in body:
            fields[name] = f"Required: the {'lowest' if name.endswith('min_mg') else 'highest'} dose in mg."
    if fields:
        return
    low, high = body["strength_min_mg"], body["strength_max_mg"]
    for name, value in (("strength_min_mg", low), ("strength_max_mg", high)):
        if not STRENGTH_MIN_MG <= value <= STRENGTH_MAX_MG:
            fields[name] = f"Must be between {STRENGTH_MIN_MG} and {STRENGTH_MAX_MG} mg per dose (LDN)."
    if not fields and low > high:
        fields["strength_max_mg"] = "Must not be below strength_min_mg."


def _check_trituration(body: dict[str, Any], fields: dict[str, str]) -> None:
    """A stock dilution (domain.md §2.1): a concentration, the intermediate it makes, an API and a
    diluent; no dose, no fill weight, dated as a nonaqueous solid."""
    if "concentration_percent" not in body:
        fields["concentration_percent"] = "Required: the concentration in % w/w as naltrexone HCl, e.g. 10."
    produced = (body.get("produces") or "").strip().upper()
    body["produces"] = produced
    material = db.session.scalar(sa.select(Material).where(Material.code == produced)) if produced else None
    if not produced:
        fields["produces"] = "Required: the intermediate material its batches make."
    elif material is None:
        fields["produces"] = f"No material with code {produced}; create it as an intermediate first."
    elif material.kind != "intermediate":
        fields["produces"] = (
            f"{produced} is {material.kind}; a trituration produces an intermediate material."
        )
    else:
        other = db.session.scalar(
            sa.select(Formula.code).where(Formula.code != body["code"], Formula.id.in_(_producers(produced)))
        )
        if other:
            fields["produces"] = (
                f"{produced} is made by formula {other} already; one formula makes each intermediate."
            )
    for name in ("strength_min_mg", "strength_max_mg", "fill_weight_mg", "capsule_size"):
        if body.get(name) not in (None, ""):
            fields[name] = "A trituration has no dose, fill weight or capsule size; leave it out."
    roles = sorted(c["role"] for c in body["components"])
    if roles != ["api", "filler"]:
        fields["components"] = (
            "A trituration has two components: the API (role api) and its diluent (role filler)."
        )
    if body.get("overage_percent"):
        fields["overage_percent"] = "A trituration is made to its concentration, without overage."
    bud = body.get("bud") or {}
    if "category" in bud and bud["category"] != "nonaqueous_other":
        fields["bud.category"] = (
            "A trituration is a nonaqueous solid: use the category nonaqueous other (180 days)."
        )


def _producers(material_code: str) -> sa.Select:
    """The formulas with a version that produces ``material_code``."""
    return sa.select(FormulaVersion.formula_id).where(
        FormulaVersion.dosage_form == "trituration",
        FormulaVersion.body["produces"].as_string() == material_code,
    )


def _check_components(body: dict[str, Any], fields: dict[str, str]) -> None:
    codes = [c["material"].strip().upper() for c in body["components"]]
    for component, code in zip(body["components"], codes, strict=True):
        component["material"] = code
    known = {m.code: m for m in db.session.scalars(sa.select(Material).where(Material.code.in_(codes)))}
    for i, code in enumerate(codes):
        if code not in known:
            fields[f"components.{i}.material"] = f"No material with code {code}."
        elif codes.index(code) != i:
            fields[f"components.{i}.material"] = f"{code} is listed twice."
    api = [i for i, c in enumerate(body["components"]) if c["role"] == "api"]
    if len(api) != 1:
        fields["components"] = "Name exactly one component with the role api (naltrexone hydrochloride)."
    elif codes[api[0]] in known:
        kind = known[codes[api[0]]].kind
        allowed = ("api",) if body["dosage_form"] == "trituration" else ("api", "intermediate")
        if kind not in allowed:
            fields[f"components.{api[0]}.material"] = f"{codes[api[0]]} is not an API material" + (
                "." if body["dosage_form"] == "trituration" else " nor a trituration of one."
            )


def _check_tests(body: dict[str, Any], fields: dict[str, str]) -> None:
    tests = body["specification"]["tests"]
    keys = [t["key"] for t in tests]
    for i, test in enumerate(tests):
        where = f"specification.tests.{i}"
        test.setdefault("unit", "")
        test.setdefault("method", "")
        test.setdefault("required", True)
        if keys.index(test["key"]) != i:
            fields[f"{where}.key"] = f"The test {test['key']} is listed twice."
        if test["kind"] == "range":
            test.setdefault("decimals", 1)
            if "min" not in test and "max" not in test:
                fields[where] = "A range test needs min, max or both."
            elif "min" in test and "max" in test and test["min"] > test["max"]:
                fields[f"{where}.max"] = "Must not be below min."
            elif "warn_min" in test and "warn_max" in test and test["warn_min"] > test["warn_max"]:
                fields[f"{where}.warn_max"] = "Must not be below warn_min."
        elif test["kind"] == "content_uniformity":
            test.setdefault("target", 100.0)
        elif not test.get("expected", "").strip():
            fields[f"{where}.expected"] = "An attribute test needs the expected result."
    if body["dosage_form"] in LIQUID_FORMS:
        missing = [k for k in ("ph", "fill_volume") if k not in keys]
        if missing:
            fields["specification.tests"] = (
                f"Liquids need range tests {' and '.join(missing)} with their limits."
            )


def broken_rules(version: FormulaVersion) -> list[str]:
    """The preparation rules (domain.md §3) a version breaks: one approved before a rule was made
    is marked on the formula pages and makes no new batch until a corrected version is approved."""
    return bud_rules.rule_summary(version.body)


def version_content(version: FormulaVersion) -> dict[str, Any]:
    return {"formula": version.formula.code, "version": version.version, "body": version.body}


def get_formula(code: str, for_update: bool = False) -> Formula:
    """The formula with its versions; ``for_update`` locks its row and reads it and its versions afresh."""
    stmt = sa.select(Formula).where(Formula.code == (code or "").strip().upper())
    if for_update:
        stmt = stmt.with_for_update(of=Formula).execution_options(populate_existing=True)
    formula = db.session.scalar(stmt)
    if formula is None:
        raise NotFound(f"No formula with code {code!r}.")
    return formula


def list_formulas() -> list[Formula]:
    return list(db.session.scalars(sa.select(Formula).order_by(Formula.code)))


def create_formula(actor: User, body: dict[str, Any]) -> FormulaVersion:
    """A new formula: version 1, in draft."""
    require_role(actor, "admin")
    body = normalise(body)
    if db.session.scalar(sa.select(Formula.id).where(Formula.code == body["code"])):
        raise Conflict(
            f"Formula {body['code']} exists already; add a version to it instead.",
            {"code": "This code is taken."},
        )
    formula = Formula(code=body["code"], name=body["name"])
    db.session.add(formula)
    return _add_version(actor, formula, body, 1)


def new_version(actor: User, code: str, body: dict[str, Any]) -> FormulaVersion:
    """A new draft version of an existing formula (the code in the body must match)."""
    require_role(actor, "admin")
    formula = get_formula(code)
    body = normalise(body)
    if body["code"] != formula.code:
        raise InvalidInput("The body names another formula.", {"code": f"Must be {formula.code}."})
    if formula.draft is not None:
        raise WrongState(
            f"Version {formula.draft.version} of {formula.code} is still a draft; approve it first."
        )
    formula.name = body["name"]
    return _add_version(actor, formula, body, max(v.version for v in formula.versions) + 1)


def _add_version(actor: User, formula: Formula, body: dict[str, Any], number: int) -> FormulaVersion:
    version = FormulaVersion(
        formula=formula, version=number, dosage_form=body["dosage_form"], body=body, authored_by_id=actor.id
    )
    db.session.add(version)
    db.session.flush()
    audit.record(
        "formula.drafted", "formula", formula.code, actor=actor, new={"version": number, "body": body}
    )
    db.session.commit()
    return version


def approve_formula(actor: User, code: str, given: SignatureInput) -> FormulaVersion:
    """Approve the newest draft; the approved version before it becomes superseded.

    The formula row is locked first, as a batch is for its release: two approvals at once
    queue, and the second finds no draft left (409).
    """
    require_role(actor, *APPROVERS)
    formula = get_formula(code, for_update=True)
    draft = formula.draft
    if draft is None:
        raise WrongState(f"{formula.code} has no draft version to approve.")
    if draft.authored_by_id == actor.id:
        raise NotPermitted("The author of a version cannot approve it; ask another reviewer or admin.")
    broken = bud_rules.rule_summary(draft.body)
    if broken:
        raise WrongState(
            f"{formula.code} version {draft.version} breaks a preparation rule and cannot be "
            f"approved: {' '.join(broken)} Save a corrected version."
        )
    signatures.sign(
        actor,
        given,
        action="approve_formula",
        entity_type="formula",
        entity_key=f"{formula.code} v{draft.version}",
        content=version_content(draft),
    )
    now = clock.utcnow()
    previous = formula.approved
    if previous is not None:
        previous.status, previous.superseded_at = "superseded", now
        audit.record(
            "formula.superseded",
            "formula",
            formula.code,
            actor=actor,
            old={"version": previous.version, "status": "approved"},
            new={"version": previous.version, "status": "superseded"},
        )
    draft.status, draft.approved_by_id, draft.approved_at = "approved", actor.id, now
    audit.record(
        "formula.approved",
        "formula",
        formula.code,
        actor=actor,
        old={"version": draft.version, "status": "draft"},
        new={"version": draft.version, "status": "approved"},
    )
    db.session.commit()
    return draft
