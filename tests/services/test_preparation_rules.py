"""A formula's BUD category and storage must fit its preparation (domain.md §3).

Checked when a version is saved, on both ways in (a new formula, a new version). A version
approved before the rules existed is read with the same rules: it makes no new batch until a
corrected version is approved.
"""

from typing import Any

import pytest
import sqlalchemy as sa

from qa_app.domain.bud_rules import rule_breaches
from qa_app.errors import InvalidInput, WrongState
from qa_app.extensions import db
from qa_app.models import Batch, Formula, FormulaVersion
from qa_app.services import batches, clock, formulas
from tests.builders import capsule_formula_body, liquid_formula_body, setup_master_data, signature, user


def cream_body(**changes: Any) -> dict[str, Any]:
    body = {
        "code": "LDN-CRM",
        "name": "Naltrexone HCl cream 0.5 mg/g",
        "dosage_form": "cream",
        "strength_min_mg": 0.5,
        "strength_max_mg": 4.5,
        "components": [{"material": "NTX-HCL", "role": "api"}, {"material": "SYRUP", "role": "vehicle"}],
        "storage": "room",
        "bud": {"category": "aqueous_preserved"},
    }
    body.update(changes)
    return body


def drops_body() -> dict[str, Any]:
    return liquid_formula_body(
        code="LDN-SL", name="Naltrexone HCl sublingual drops", dosage_form="sublingual_drops"
    )


REFUSED = [
    pytest.param(
        liquid_formula_body(storage="room", bud={"category": "aqueous_nonpreserved"}),
        "storage",
        "must be stored refrigerated",
        id="aqueous-nonpreserved-on-a-room-shelf",
    ),
    pytest.param(
        cream_body(bud={"category": "aqueous_nonpreserved"}),
        "bud.category",
        "must be stored refrigerated",
        id="aqueous-nonpreserved-cream-at-room",
    ),
    pytest.param(
        capsule_formula_body(bud={"category": "nonaqueous_oral_liquid"}),
        "bud.category",
        "only for oral liquids and drops",
        id="capsule-dated-as-oral-liquid",
    ),
    pytest.param(
        cream_body(bud={"category": "nonaqueous_oral_liquid"}),
        "bud.category",
        "only for oral liquids and drops",
        id="cream-dated-as-oral-liquid",
    ),
    pytest.param(
        liquid_formula_body(bud={"category": "nonaqueous_other"}),
        "bud.category",
        "never for an oral liquid or drops",
        id="oral-liquid-dated-as-capsule",
    ),
    pytest.param(
        drops_body() | {"bud": {"category": "nonaqueous_other"}},
        "bud.category",
        "never for an oral liquid or drops",
        id="drops-dated-as-capsule",
    ),
    pytest.param(
        liquid_formula_body(bud={"days": 60, "reference": "Fawcett 1997"}),
        "bud.reference",
        "at least 20 characters",
        id="reference-of-12-characters",
    ),
    pytest.param(
        capsule_formula_body(bud={"days": 181, "reference": "Cote et al., IJPC 2018;22(3):252-6"}),
        "bud.days",
        "from 1 to 180",
        id="181-literature-days",
    ),
    pytest.param(
        capsule_formula_body(bud={"days": 360, "reference": "Cote et al., IJPC 2018;22(3):252-6"}),
        "bud.days",
        "from 1 to 180",
        id="the-studied-360-days",
    ),
]

ACCEPTED = [
    pytest.param(liquid_formula_body(bud={"category": "aqueous_nonpreserved"}), id="aqueous-in-the-fridge"),
    pytest.param(
        liquid_formula_body(storage="room", bud={"category": "aqueous_preserved"}), id="preserved-at-room"
    ),
    pytest.param(
        liquid_formula_body(bud={"category": "nonaqueous_oral_liquid"}), id="nonaqueous-oral-liquid"
    ),
    pytest.param(drops_body() | {"bud": {"category": "nonaqueous_oral_liquid"}}, id="nonaqueous-drops"),
    pytest.param(capsule_formula_body(), id="capsule-nonaqueous-other"),
    pytest.param(cream_body(bud={"category": "nonaqueous_other"}), id="nonaqueous-cream"),
    pytest.param(
        capsule_formula_body(bud={"days": 180, "reference": "Cote et al., IJPC 2018;22(3):252-6"}),
        id="literature-180-days",
    ),
    pytest.param(
        liquid_formula_body(bud={"days": 60, "reference": "Fawcett, Ann Pharmacother"}), id="ref-25"
    ),
]


@pytest.mark.parametrize(("body", "field", "words"), REFUSED)
def test_the_domain_rule_names_the_field_at_fault(body, field, words):
    breaches = rule_breaches(body)
    assert field in breaches
    assert words in breaches[field]


@pytest.mark.parametrize("body", ACCEPTED)
def test_a_category_that_fits_the_preparation_breaks_no_rule(body):
    assert rule_breaches(body) == {}


@pytest.fixture
def master(app, users):
    with app.app_context():
        setup_master_data(clock.today())
    return app


@pytest.mark.parametrize(("body", "field", "words"), REFUSED)
def test_a_new_formula_breaking_a_rule_is_refused_and_nothing_is_saved(master, body, field, words):
    with master.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(FormulaVersion))
        with pytest.raises(InvalidInput) as refused:
            formulas.create_formula(user("ada"), body | {"code": "NEW-1"})
        assert words in refused.value.fields[field]
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FormulaVersion)) == before
        assert db.session.scalar(sa.select(Formula.id).where(Formula.code == "NEW-1")) is None


def test_a_new_version_breaking_a_rule_is_refused_too(master):
    with master.app_context():
        body = liquid_formula_body(storage="room", bud={"category": "aqueous_nonpreserved"})
        with pytest.raises(InvalidInput) as refused:
            formulas.new_version(user("ada"), "LDN-LIQ", body)
        assert set(refused.value.fields) >= {"storage", "bud.category"}
        db.session.rollback()
        assert [v.version for v in formulas.get_formula("LDN-LIQ").versions] == [1]


def insert_old_approved(code: str, body: dict[str, Any]) -> None:
    """A version approved before the rules, as a migrated old record would be: no service runs."""
    good = formulas.normalise(body | {"bud": {"category": "aqueous_preserved"}, "storage": "refrigerated"})
    old = good | {"code": code, "bud": body["bud"], "storage": body["storage"]}
    formula = Formula(code=code, name=old["name"])
    db.session.add(formula)
    db.session.add(
        FormulaVersion(
            formula=formula,
            version=1,
            status="approved",
            dosage_form=old["dosage_form"],
            body=old,
            authored_by_id=user("ada").id,
            approved_by_id=user("rob").id,
            approved_at=clock.utcnow(),
        )
    )
    db.session.commit()


def test_an_old_formula_breaking_a_rule_makes_no_batch_until_a_corrected_version_is_approved(master):
    with master.app_context():
        insert_old_approved(
            "OLD-LIQ", liquid_formula_body(storage="room", bud={"category": "aqueous_nonpreserved"})
        )
        assert formulas.broken_rules(formulas.get_formula("OLD-LIQ").approved) == [
            "An aqueous, not preserved preparation must be stored refrigerated (2–8 °C): its 14-day BUD "
            "assumes it. Choose refrigerated storage or a preserved category."
        ]
        with pytest.raises(WrongState) as refused:
            batches.create_batch(
                user("tina"),
                formula="OLD-LIQ",
                quantity=100,
                concentration=1.0,
                dose_amount=1.5,
            )
        assert "OLD-LIQ version 1 breaks a preparation rule" in refused.value.message
        assert "must be stored refrigerated" in refused.value.fields["formula"]
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Batch)) == 0

        formulas.new_version(user("ada"), "OLD-LIQ", liquid_formula_body(code="OLD-LIQ"))
        formulas.approve_formula(user("rob"), "OLD-LIQ", signature("rob", "approved"))
        batch = batches.create_batch(
            user("tina"), formula="OLD-LIQ", quantity=100, concentration=1.0, dose_amount=1.5
        )
        assert (batch.formula_version.version, batch.status) == (2, "draft")


def test_an_old_capsule_dated_as_an_oral_liquid_is_refused_with_the_rule(master):
    with master.app_context():
        insert_old_approved("OLD-CAP", capsule_formula_body(bud={"category": "nonaqueous_oral_liquid"}))
        with pytest.raises(WrongState, match="only for oral liquids and drops"):
            batches.create_batch(user("tina"), formula="OLD-CAP", strength_mg=1.5, quantity=100)


def test_an_old_literature_bud_without_a_real_reference_is_refused(master):
    with master.app_context():
        insert_old_approved("OLD-REF", capsule_formula_body(bud={"days": 365, "reference": "study"}))
        with pytest.raises(WrongState) as refused:
            batches.create_batch(user("tina"), formula="OLD-REF", strength_mg=1.5, quantity=100)
        assert "at least 20 characters" in refused.value.message
        assert "from 1 to 180" in refused.value.message


def test_a_draft_saved_before_the_rules_cannot_be_approved(master):
    with master.app_context():
        insert_old_approved("OLD-DRAFT", capsule_formula_body(bud={"category": "nonaqueous_oral_liquid"}))
        draft = formulas.get_formula("OLD-DRAFT").approved
        draft.status, draft.approved_by_id, draft.approved_at = "draft", None, None
        db.session.commit()
        with pytest.raises(WrongState) as refused:
            formulas.approve_formula(user("rob"), "OLD-DRAFT", signature("rob", "approved"))
        assert "OLD-DRAFT version 1 breaks a preparation rule and cannot be approved" in refused.value.message
        assert "only for oral liquids and drops" in refused.value.message
        db.session.rollback()
        assert formulas.get_formula("OLD-DRAFT").draft.status == "draft"
