import math
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa_app.domain.compounding import (
    BUD_CATEGORIES,
    MAX_QUANTITY,
    STRENGTH_MAX_MG,
    STRENGTH_MIN_MG,
    CompoundingError,
    as_is_assay,
    beyond_use_date,
    calculate,
    capsule_weight_check,
    check_quantity,
    check_strength,
    clean_scan,
    dose_mg,
    expired,
    local_date,
    lot_number,
    near_bud,
    weighing_deviation,
    yield_needs_reason,
    yield_percent,
)

START = date(2026, 11, 25)
# Ten individual #3 capsule contents around a theoretical 225 mg.
WEIGHTS = [224.1, 226.3, 223.8, 225.9, 227.2, 222.6, 225.7, 224.4, 226.8, 223.9]


@contextmanager
def raises_on(field):
    """Expect a CompoundingError naming ``field``; the caught error is on ``.value``."""
    with pytest.raises(CompoundingError) as info:
        yield info
    assert info.value.field == field, info.value.message


# --- the dose and its guard -----------------------------------------------------------------


def test_the_ldn_range_is_half_to_four_and_a_half_mg():
    assert (STRENGTH_MIN_MG, STRENGTH_MAX_MG, MAX_QUANTITY) == (0.5, 4.5, 100_000)


@pytest.mark.parametrize("strength", [0.5, 1.5, 4.5])
def test_strengths_inside_the_ldn_range_are_accepted(strength):
    check_strength(strength)


@pytest.mark.parametrize(
    ("strength", "shown"), [(0.4, "0.4"), (4.6, "4.6"), (math.nan, "nan"), (math.inf, "inf")]
)
def test_strengths_outside_the_ldn_range_are_refused_naming_the_range(strength, shown):
    with raises_on("strength_mg") as error:
        check_strength(strength)
    assert error.value.message == f"strength_mg must be between 0.5 and 4.5 mg per dose (LDN); got {shown}"


def test_the_formula_range_narrows_the_ldn_range():
    check_strength(1.5, 1.5, 3.0)
    with raises_on("strength_mg") as error:
        check_strength(1.0, 1.5, 3.0)
    assert "between 1.5 and 3.0 mg per dose for this formula; got 1.0" in error.value.message


def test_a_capsule_dose_is_its_strength():
    assert dose_mg("capsule", strength_mg=1.5) == 1.5


@pytest.mark.parametrize("form", ["oral_liquid", "sublingual_drops"])
def test_a_liquid_dose_is_concentration_times_dose_volume(form):
    dose = dose_mg(form, concentration=1.0, dose_amount=4.5)
    assert dose == 4.5
    check_strength(dose)


def test_a_liquid_dose_of_five_mg_is_refused():
    dose = dose_mg("oral_liquid", concentration=1.0, dose_amount=5.0)
    with raises_on("strength_mg") as error:
        check_strength(dose)
    assert error.value.message.endswith("got 5.0")


def test_a_cream_dose_is_concentration_per_g_times_dose_g():
    assert dose_mg("cream", concentration=0.5, dose_amount=3.0) == 1.5


def test_a_computed_dose_on_a_limit_is_not_lost_to_binary_noise():
    dose = dose_mg("oral_liquid", concentration=1.1, dose_amount=3.0)
    assert dose != 3.3  # 3.3000000000000003 in binary
    check_strength(dose, 0.5, 3.3)


def test_a_stated_strength_must_match_the_liquid_dose():
    assert dose_mg("oral_liquid", strength_mg=4.5, concentration=1.0, dose_amount=4.5) == 4.5
    with raises_on("strength_mg") as error:
        dose_mg("oral_liquid", strength_mg=4.0, concentration=1.0, dose_amount=4.5)
    assert "does not match concentration_mg_per_ml × dose_volume_ml = 1 × 4.5 = 4.5 mg" in error.value.message


@pytest.mark.parametrize(
    ("form", "kwargs", "field"),
    [
        ("capsule", {}, "strength_mg"),
        ("capsule", {"strength_mg": 1.5, "concentration": 1.0}, "concentration_mg_per_ml"),
        ("oral_liquid", {"dose_amount": 1.0}, "concentration_mg_per_ml"),
        ("oral_liquid", {"concentration": 1.0}, "dose_volume_ml"),
        ("cream", {"concentration": 0.5}, "dose_g"),
        ("cream", {"concentration": -0.5, "dose_amount": 1.0}, "concentration_mg_per_g"),
        ("tablet", {"strength_mg": 1.5}, "dosage_form"),
    ],
)
def test_missing_or_foreign_dose_fields_are_named(form, kwargs, field):
    with raises_on(field):
        dose_mg(form, **kwargs)


@pytest.mark.parametrize(
    ("quantity", "form"),
    [(100, "capsule"), (100_000, "capsule"), (100.0, "capsule"), (12.5, "oral_liquid"), (30.5, "cream")],
)
def test_quantities_up_to_100000_are_accepted(quantity, form):
    check_quantity(quantity, form)


@pytest.mark.parametrize(
    ("quantity", "form", "words"),
    [
        (0, "capsule", "more than 0 capsules; got 0"),
        (-5, "oral_liquid", "more than 0 mL; got -5"),
        (100_001, "capsule", "at most 100,000 capsules; got 100001"),
        (10.5, "capsule", "whole number of capsules; got 10.5"),
        (math.nan, "cream", "finite"),
        (math.inf, "capsule", "finite"),
    ],
)
def test_bad_quantities_are_refused(quantity, form, words):
    with raises_on("quantity") as error:
        check_quantity(quantity, form)
    assert words in error.value.message


# --- the calculation ------------------------------------------------------------------------


def test_published_check_100_capsules_of_1_5_mg_at_99_percent_need_151_52_mg():
    calculation = calculate("capsule", 100, 1.5, 99.0, 0.0, 225.0, api_lot="NTX-2401")
    reported = calculation.as_dict()

    assert calculation.api_mg == pytest.approx(151.515151515, abs=1e-9)
    assert reported["api_mg"] == 151.52
    assert reported["api_lot"] == "NTX-2401"
    assert reported["explanation"].startswith(
        "100 capsules × 1.5 mg × 100 / 99.0 % × (1 + 0.0 %) = 151.52 mg"
    )


def test_capsule_filler_is_total_fill_less_the_api():
    calculation = calculate("capsule", 100, 1.5, 99.0, 0.0, 225.0)
    reported = calculation.as_dict()

    assert reported["filler_mg"] == 22348.48  # 100 × 225 − 151.52
    assert calculation.filler_mg == pytest.approx(22348.484848485, abs=1e-9)
    assert reported["theoretical_unit_mg"] == 225.0
    assert reported["theoretical_yield"] == 100
    assert reported["explanation"].endswith("filler = 100 capsules × 225 mg − 151.52 mg = 22348.48 mg")


def test_the_as_dict_carries_the_inputs():
    reported = calculate("capsule", 100, 1.5, 99.0, 0.0, 225.0).as_dict()
    assert {k: reported[k] for k in ("quantity", "quantity_unit", "strength_mg")} == {
        "quantity": 100,
        "quantity_unit": "capsules",
        "strength_mg": 1.5,
    }
    assert (reported["api_assay_percent"], reported["overage_percent"], reported["fill_weight_mg"]) == (
        99.0,
        0.0,
        225.0,
    )


def test_oral_liquid_1_mg_per_ml_100_ml_at_98_5_percent_with_2_percent_overage():
    calculation = calculate("oral_liquid", 100, 1.0, 98.5, 2.0)
    reported = calculation.as_dict()

    assert calculation.api_mg == pytest.approx(103.553299492, abs=1e-9)  # 10200 / 98.5
    assert reported["api_mg"] == 103.55
    assert reported["concentration_mg_per_ml"] == 1.0
    assert reported["quantity_unit"] == "mL"
    assert reported["filler_mg"] is None
    assert reported["explanation"] == "100 mL × 1 mg/mL × 100 / 98.5 % × (1 + 2.0 %) = 103.55 mg"


def test_cream_uses_grams():
    reported = calculate("cream", 50, 0.5, 100.0).as_dict()
    assert reported["api_mg"] == 25.0
    assert reported["explanation"] == "50 g × 0.5 mg/g × 100 / 100.0 % × (1 + 0.0 %) = 25.00 mg"


def test_as_is_assay_takes_the_water_out():
    assert as_is_assay(99.5, 0.8) == 98.704
    assert as_is_assay(99.5, 0) == 99.5


def test_using_the_anhydrous_assay_directly_under_doses_by_the_water_percent():
    as_is = calculate("capsule", 100, 1.5, as_is_assay(99.5, 0.8), 0.0, 225.0)
    anhydrous = calculate("capsule", 100, 1.5, 99.5, 0.0, 225.0)

    assert as_is.as_dict()["api_mg"] == 151.97
    assert anhydrous.as_dict()["api_mg"] == 150.75
    assert anhydrous.api_mg / as_is.api_mg == pytest.approx(1 - 0.8 / 100, abs=1e-12)


@pytest.mark.parametrize(
    ("anhydrous", "water", "field"),
    [
        (0, 0.8, "assay_percent"),
        (200.1, 0.8, "assay_percent"),
        (99.5, -0.1, "water_percent"),
        (99.5, 100, "water_percent"),
    ],
)
def test_as_is_assay_refuses_impossible_figures(anhydrous, water, field):
    with raises_on(field):
        as_is_assay(anhydrous, water)


def test_a_fill_weight_too_small_for_the_api_is_refused():
    with raises_on("fill_weight_mg") as error:
        calculate("capsule", 100, 4.5, 99.0, 0.0, 4.0)
    assert "fill weight too small" in error.value.message


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("capsule", 100, 1.5, 99.0, 0.0, None), "fill_weight_mg"),
        (("capsule", 100, 1.5, 0.0, 0.0, 225.0), "api_assay_percent"),
        (("capsule", 100, 1.5, 99.0, -1.0, 225.0), "overage_percent"),
        (("capsule", 10.5, 1.5, 99.0, 0.0, 225.0), "quantity"),
        (("oral_liquid", 100, 0.0, 99.0, 0.0), "concentration_mg_per_ml"),
    ],
)
def test_calculate_names_the_bad_input(args, field):
    with raises_on(field):
        calculate(*args)


@given(
    units=st.integers(1, MAX_QUANTITY),
    strength=st.floats(0.5, 4.5),
    assay=st.floats(90.0, 110.0),
    overage=st.floats(0.0, 10.0),
)
def test_api_and_filler_add_up_to_the_fill(units, strength, assay, overage):
    calculation = calculate("capsule", units, strength, assay, overage, 225.0)
    assert calculation.api_mg + calculation.filler_mg == pytest.approx(units * 225.0)
    reported = calculation.as_dict()
    assert Decimal(str(reported["api_mg"])) + Decimal(str(reported["filler_mg"])) == units * 225


# --- weighing the API -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weighed", "deviation", "within"),
    [(102.0, "2.00", True), (102.01, "2.01", False), (98.0, "-2.00", True), (97.99, "-2.01", False)],
)
def test_weighing_tolerance_is_inclusive_at_2_percent(weighed, deviation, within):
    check = weighing_deviation(weighed, 100.0)
    assert check.deviation_reported == Decimal(deviation)
    assert check.within is within
    assert check.as_dict()["deviation_percent"] == float(deviation)


def test_weighing_is_judged_after_rounding_to_two_decimals():
    # 154.55 mg against 151.52 mg is +1.9997 %: reported +2.00 %, within ±2.0 %.
    check = weighing_deviation(154.55, 151.52)
    assert check.deviation_reported == Decimal("2.00")
    assert check.within


def test_a_formula_may_set_its_own_weighing_tolerance():
    assert not weighing_deviation(101.5, 100.0, tolerance_percent=1.0).within


# --- capsule weight check -------------------------------------------------------------------


def test_ten_capsules_in_range_pass_with_their_statistics():
    check = capsule_weight_check(WEIGHTS, 225.0, 100)
    reported = check.as_dict()

    assert check.passed
    assert reported["outside"] == []
    assert reported["n"] == 10
    assert (reported["low_mg"], reported["high_mg"]) == (202.5, 247.5)
    assert reported["mean_mg"] == 225.07
    assert reported["sd_mg"] == 1.513  # sample SD: the population SD would be 1.435
    assert reported["rsd_percent"] == 0.67
    assert (reported["min_mg"], reported["max_mg"]) == (222.6, 227.2)


def test_a_capsule_at_89_9_percent_fails_naming_its_position():
    weights = WEIGHTS.copy()
    weights[3] = 202.275  # 89.9 % of 225 mg
    check = capsule_weight_check(weights, 225.0, 100)

    assert not check.passed
    assert check.outside == (4,)
    assert check.message.startswith("Capsule 4 (202.275 mg, 89.90 %) outside 202.5–247.5 mg")


@pytest.mark.parametrize("edge", [202.5, 247.5])
def test_the_90_and_110_percent_limits_are_inclusive(edge):
    assert capsule_weight_check([edge, *WEIGHTS[1:]], 225.0, 100).passed


def test_just_above_110_percent_fails():
    assert capsule_weight_check([*WEIGHTS[:9], 247.51], 225.0, 100).outside == (10,)


def test_nine_weights_for_a_100_unit_batch_are_refused():
    with raises_on("weights_mg") as error:
        capsule_weight_check(WEIGHTS[:9], 225.0, 100)
    assert "at least 10" in error.value.message


def test_every_capsule_of_a_small_batch_is_weighed():
    assert capsule_weight_check(WEIGHTS[:5], 225.0, 5).n == 5
    with raises_on("weights_mg"):
        capsule_weight_check(WEIGHTS[:4], 225.0, 5)


@pytest.mark.parametrize(
    "weights", [[*WEIGHTS[:9], math.nan], [*WEIGHTS[:9], -1.0], [*WEIGHTS[:9], "225"], WEIGHTS * 11]
)
def test_unusable_weight_lists_are_refused(weights):
    with raises_on("weights_mg"):
        capsule_weight_check(weights, 225.0, 100)


# --- yield ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "needs_reason"),
    [(94.9, True), (95.0, False), (100.0, False), (105.0, False), (105.1, True)],
)
def test_yield_outside_95_to_105_percent_needs_a_reason(percent, needs_reason):
    assert yield_needs_reason(percent) is needs_reason


def test_yield_is_actual_over_theoretical():
    assert yield_percent(97, 100) == 97.0
    assert yield_needs_reason(yield_percent(94, 100))


# --- beyond-use date ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "bud", "reason"),
    [
        ("nonaqueous_other", date(2027, 5, 23), "180 days, USP <795> nonaqueous (other)"),
        ("aqueous_nonpreserved", date(2026, 12, 8), "14 days, USP <795> aqueous (not preserved)"),
        ("aqueous_preserved", date(2026, 12, 29), "35 days, USP <795> aqueous (preserved)"),
        ("nonaqueous_oral_liquid", date(2027, 2, 22), "90 days, USP <795> nonaqueous oral liquid"),
    ],
)
def test_the_start_date_is_day_one(category, bud, reason):
    result = beyond_use_date(START, {"category": category})
    assert (result.date, result.reason) == (bud, reason)


def test_the_categories_are_those_of_usp_795():
    assert BUD_CATEGORIES == {
        "aqueous_nonpreserved": 14,
        "aqueous_preserved": 35,
        "nonaqueous_oral_liquid": 90,
        "nonaqueous_other": 180,
    }


def test_a_literature_bud_keeps_its_reference():
    result = beyond_use_date(START, {"days": 60, "reference": "Fawcett et al. 1997"})
    assert result.date == date(2027, 1, 23)
    assert result.reason == "60 days (Fawcett et al. 1997)"


def test_a_literature_bud_is_capped_at_180_days():
    result = beyond_use_date(START, {"days": 365, "reference": "Cote et al. 2018"})
    assert result.date == date(2027, 5, 23)
    assert result.reason == "365 days (Cote et al. 2018), capped at 180 days"


def test_the_bud_is_cut_to_the_earliest_component_expiry():
    result = beyond_use_date(
        START,
        {"category": "nonaqueous_other"},
        [("API lot NTX-2401", date(2028, 1, 31)), ("filler lot MCC-2401", date(2027, 3, 31))],
    )
    assert result.date == date(2027, 3, 31)
    assert result.reason == (
        "180 days, USP <795> nonaqueous (other); cut to the expiry of filler lot MCC-2401 (2027-03-31)"
    )


def test_a_component_expiring_after_the_bud_changes_nothing():
    result = beyond_use_date(START, {"category": "aqueous_nonpreserved"}, [("API lot A", date(2027, 1, 1))])
    assert result.reason == "14 days, USP <795> aqueous (not preserved)"


def test_a_component_expired_before_compounding_is_refused():
    with raises_on("components") as error:
        beyond_use_date(START, {"category": "nonaqueous_other"}, [("API lot A", date(2026, 11, 24))])
    assert "API lot A expired on 2026-11-24" in error.value.message


@pytest.mark.parametrize(
    "rule",
    [
        {},
        {"category": "frozen"},
        {"days": 0, "reference": "x"},
        {"days": 30},
        {"days": 30.5, "reference": "x"},
        {"category": "nonaqueous_other", "days": 30, "reference": "x"},
    ],
)
def test_bad_bud_rules_are_refused(rule):
    with raises_on("bud"):
        beyond_use_date(START, rule)


def test_a_datetime_is_not_a_start_date():
    with raises_on("compounded_at"):
        beyond_use_date(datetime(2026, 11, 25, 9, tzinfo=UTC), {"category": "nonaqueous_other"})


@pytest.mark.parametrize(
    ("moment", "zone", "day"),
    [
        (datetime(2026, 11, 25, 3, tzinfo=UTC), "America/Chicago", date(2026, 11, 24)),
        (datetime(2026, 11, 25, 6, tzinfo=UTC), "America/Chicago", date(2026, 11, 25)),
        (datetime(2026, 11, 25, 23, tzinfo=UTC), "Europe/Berlin", date(2026, 11, 26)),
    ],
)
def test_day_one_is_the_pharmacys_local_date(moment, zone, day):
    assert local_date(moment, zone) == day


def test_local_date_refuses_a_naive_time_and_an_unknown_zone():
    with pytest.raises(ValueError, match="timezone-aware"):
        local_date(datetime(2026, 11, 25, 3), "UTC")
    with pytest.raises(ValueError, match="unknown time zone"):
        local_date(datetime(2026, 11, 25, 3, tzinfo=UTC), "Mars/Olympus")


@pytest.mark.parametrize(
    ("today", "is_expired", "is_near"),
    [
        (date(2027, 5, 8), False, False),
        (date(2027, 5, 9), False, True),
        (date(2027, 5, 23), False, True),
        (date(2027, 5, 24), True, False),
    ],
)
def test_a_batch_is_usable_on_its_bud_and_expired_the_day_after(today, is_expired, is_near):
    bud = date(2027, 5, 23)
    assert expired(bud, today) is is_expired
    assert near_bud(bud, today) is is_near


# --- scans and lot numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scanned", "clean"),
    [
        ("\x1dMCC-2401\r\n", "MCC-2401"),
        ("\x04 ntx-2401\t", "NTX-2401"),
        ("\x1eLDN-261125-003\x1e\x04", "LDN-261125-003"),
        ("\ufeffmcc-2401", "MCC-2401"),
    ],
)
def test_clean_scan_drops_what_scanners_add(scanned, clean):
    assert clean_scan(scanned) == clean


@given(st.text())
def test_clean_scan_is_idempotent(text):
    assert clean_scan(clean_scan(text)) == clean_scan(text)


def test_lot_number_is_prefix_date_and_sequence():
    assert lot_number("LDN", START, 3) == "LDN-261125-003"


@pytest.mark.parametrize(("prefix", "n"), [("", 1), ("L-D", 1), ("LDN", 0), ("LDN", 1000)])
def test_bad_lot_number_parts_are_refused(prefix, n):
    with pytest.raises(ValueError):
        lot_number(prefix, START, n)
