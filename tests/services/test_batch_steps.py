"""The guided record's steps, worked out from what a batch has recorded (no database)."""

from datetime import UTC, datetime
from types import SimpleNamespace

from qa_app.services.batch_view import formula_instructions, open_steps, steps

AT = datetime(2026, 12, 7, 10, 42, tzinfo=UTC)
CAPSULE_BODY = {
    "components": [
        {"material": "NTX-HCL", "role": "api"},
        {"material": "MCC-102", "role": "filler"},
        {"material": "CAP-3", "role": "container"},
    ],
    "capsule_size": "3",
    "weighing_tolerance_percent": 2.0,
    "container": "Amber vial",
    "steps": [
        "Weigh: on the semi-micro balance",
        "Sieve the filler.",
        "fill: tamp gently",
        "Blend 5 minutes.",
    ],
}


def person(username: str) -> SimpleNamespace:
    return SimpleNamespace(username=username)


def batch(dosage_form: str = "capsule", status: str = "draft", **changes) -> SimpleNamespace:
    body = (
        CAPSULE_BODY
        if dosage_form == "capsule"
        else CAPSULE_BODY | {"components": CAPSULE_BODY["components"][:2]}
    )
    values = {
        "formula_version": SimpleNamespace(body=body),
        "calculation": {"api_mg": 151.52, "quantity_unit": "capsules", "theoretical_unit_mg": 225.0},
        "status": status,
        "dosage_form": dosage_form,
        "quantity": 100.0,
        "api_verified_by_id": None,
        "api_verified_by": None,
        "api_verified_at": None,
        "actual_yield": None,
        "yield_percent": None,
        "completed_at": None,
        "locations": [],
    }
    return SimpleNamespace(**(values | changes))


def component(material: str, role: str, quantity_mg=None, count=None) -> SimpleNamespace:
    return SimpleNamespace(
        material=SimpleNamespace(code=material),
        role=role,
        lot=SimpleNamespace(barcode=f"LOT-{material}"),
        quantity_mg=quantity_mg,
        count=count,
        balance="XS205-01" if quantity_mg else None,
        deviation_percent=0.0 if role == "api" else None,
        within_tolerance=True if role == "api" else None,
        recorded_by=person("tina"),
        recorded_at=AT,
    )


API = component("NTX-HCL", "api", quantity_mg=151.52)
OTHERS = [component("MCC-102", "filler", quantity_mg=22348.0), component("CAP-3", "container", count=100)]


def check(passed: bool = True) -> SimpleNamespace:
    summary = {"n": 10, "mean_mg": 225.0, "rsd_percent": 0.47, "message": "one capsule outside 90–110 %"}
    return SimpleNamespace(passed=passed, summary=summary, recorded_by=person("tina"), recorded_at=AT)


def states(record_steps) -> dict[str, str]:
    return {s.key: s.state for s in record_steps}


def test_a_new_draft_is_at_prepare_with_everything_after_it_to_do():
    assert states(steps(batch(), [], [])) == {
        "prepare": "current",
        "weigh": "todo",
        "verify": "todo",
        "fill": "todo",
        "check": "todo",
        "complete": "todo",
    }


def test_the_api_weighed_first_is_done_while_prepare_stays_current():
    result = steps(batch(), [API], [])
    assert states(result)["prepare"] == "current"
    weigh = result[1]
    assert (weigh.state, weigh.recorded, weigh.who, weigh.when) == (
        "done",
        "151.52 mg on XS205-01 (+0.00 %), lot LOT-NTX-HCL",
        "tina",
        AT,
    )


def test_after_every_component_the_verification_is_current():
    result = steps(batch(), [API, *OTHERS], [])
    assert [s.state for s in result] == ["done", "done", "current", "todo", "todo", "todo"]
    assert result[0].recorded == "MCC-102 lot LOT-MCC-102 22,348.00 mg; CAP-3 lot LOT-CAP-3 100 units"


def test_after_the_verification_the_fill_is_current_and_the_check_opens_with_it():
    verified = batch(api_verified_by_id=2, api_verified_by=person("rob"), api_verified_at=AT)
    result = steps(verified, [API, *OTHERS], [])
    assert states(result)["verify"] == "done"
    assert result[2].who == "rob"
    assert states(result)["fill"] == "current"
    assert open_steps(result) == {"fill", "check"}


def test_a_passing_weight_check_shows_the_fill_done_and_completion_current():
    verified = batch(api_verified_by_id=2, api_verified_by=person("rob"), api_verified_at=AT)
    result = steps(verified, [API, *OTHERS], [check(passed=False), check()])
    assert [s.state for s in result] == ["done", "done", "done", "done", "done", "current"]
    assert result[4].recorded == "passed after 1 failed check: n = 10, mean 225.00 mg, RSD 0.47 %"


def test_a_failed_last_weight_check_keeps_the_check_current_and_says_why():
    verified = batch(api_verified_by_id=2, api_verified_by=person("rob"), api_verified_at=AT)
    check_step = steps(verified, [API, *OTHERS], [check(passed=False)])[4]
    assert check_step.state == "current"
    assert check_step.needs[-1] == (
        "The last check failed (one capsule outside 90–110 %); record a passing one with the reason."
    )


def test_a_liquid_needs_no_capsule_check_and_is_filled_at_completion():
    liquid = batch(
        "oral_liquid",
        status="quarantine",
        api_verified_by_id=2,
        api_verified_by=person("rob"),
        api_verified_at=AT,
        calculation={"api_mg": 100.0, "quantity_unit": "mL"},
        actual_yield=98.0,
        yield_percent=98.0,
        completed_at=AT,
    )
    result = steps(liquid, [API, OTHERS[0]], [], completed_by="tina")
    assert states(result) == {
        "prepare": "done",
        "weigh": "done",
        "verify": "done",
        "fill": "done",
        "check": "na",
        "complete": "done",
    }
    assert result[4].needs == ("Not needed for oral liquid.",)
    assert (result[3].recorded, result[3].who) == ("filled into containers: 98 mL", "tina")
    assert result[5].recorded == "98 mL (98.0 %) to quarantine"


def test_a_liquid_at_its_fill_opens_the_completion_with_it():
    liquid = batch("oral_liquid", api_verified_by_id=2, api_verified_by=person("rob"), api_verified_at=AT)
    result = steps(liquid, [API, OTHERS[0]], [])
    assert states(result)["fill"] == "current"
    assert open_steps(result) == {"fill", "complete"}


def test_a_refused_form_opens_its_own_step_as_well():
    assert open_steps(steps(batch(), [], []), "complete") == {"prepare", "complete"}


def test_tagged_formula_steps_go_to_their_stage_and_the_rest_to_the_procedure():
    tagged, procedure = formula_instructions(CAPSULE_BODY["steps"])
    assert tagged["weigh"] == ["on the semi-micro balance"]
    assert tagged["fill"] == ["tamp gently"]
    assert procedure == ["Sieve the filler.", "Blend 5 minutes."]
    record = steps(batch(), [], [])
    assert record[0].procedure == ("Sieve the filler.", "Blend 5 minutes.")
    assert record[1].instructions == ("on the semi-micro balance",)


def test_a_colon_after_another_word_is_part_of_the_step():
    tagged, procedure = formula_instructions(["Note: keep dry", "Check:"])
    assert procedure == ["Note: keep dry", "Check:"]
    assert all(not lines for lines in tagged.values())
