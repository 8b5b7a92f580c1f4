"""The excursion rules of domain.md §6 on plain series: beyond the allowance at once, data gaps,
and excursions on record that later readings may not shrink. Readings every five minutes."""

import numpy as np

from qa_app.domain import temperature

STEP_S = 300.0


def times(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) * STEP_S


def test_readings_beyond_the_allowance_are_marked_per_condition():
    temps = [-1.0, 0.0, 14.9, 15.0, 15.1, 40.0, 40.1]
    assert temperature.beyond_allowance("refrigerated", temps).tolist() == [
        True, False, False, False, True, True, True,
    ]  # fmt: skip
    assert temperature.beyond_allowance("room", temps).tolist() == [
        True,
        True,
        True,
        False,
        False,
        False,
        True,
    ]
    assert not temperature.beyond_allowance("freezer", temps).any()


def test_ten_minutes_at_41_count_at_once_but_ten_minutes_at_29_wait_for_the_delay():
    temps = [22.0] * 12 + [41.0] * 2 + [22.0] * 12
    [found] = temperature.find_excursions(times(26), temps, 20.0, 25.0, 30, condition="room")
    assert (found.start_index, found.stop_index, found.duration_minutes) == (12, 14, 10.0)
    assert temperature.find_excursions(times(26), temps, 20.0, 25.0, 30) == []  # without the condition
    warm = [22.0] * 12 + [29.0] * 2 + [22.0] * 12
    assert temperature.find_excursions(times(26), warm, 20.0, 25.0, 30, condition="room") == []


def test_a_known_excursion_is_found_whole_even_when_readings_inside_fill_it():
    t = times(30)
    temps = [5.0] * 12 + [12.0] + [5.0] * 5 + [12.0] + [5.0] * 11  # 01:00 and 01:30 at 12 °C
    assert temperature.find_excursions(t, temps, 2.0, 8.0, 30) == []
    [kept] = temperature.find_excursions(t, temps, 2.0, 8.0, 30, known=[(t[12], t[18] + 1e-3)])
    assert (kept.start_index, kept.stop_index, kept.duration_minutes) == (12, 19, 35.0)
    assert (kept.min_c, kept.max_c) == (5.0, 12.0)


def test_gap_minutes_count_time_without_readings_inside_or_touching_the_excursion():
    t = np.concatenate((times(27), 27 * STEP_S + 120 * 60 + times(12)))  # two hours silent after 02:10
    temps = [5.0] * 24 + [12.0, 13.0, 14.0] + [5.0] * 12
    [found] = temperature.find_excursions(t, temps, 2.0, 8.0, 30, condition="refrigerated")
    assert temperature.gap_minutes(t, found) == 125.0  # 02:10 to 04:15
    classification, reason = temperature.judge_excursion("refrigerated", t, temps, found, 6.0, 125.0)
    assert classification == "needs_disposition"
    assert reason == (
        "Needs disposition: no readings for 2 h 5 min during it or next to it: a data gap is not evidence."
    )


def test_the_reason_names_every_rule_that_decided():
    t = times(26)
    temps = [5.0] * 12 + [-1.0, 16.0] + [5.0] * 12
    [found] = temperature.find_excursions(t, temps, 2.0, 8.0, 30, condition="refrigerated")
    assert temperature.judge_excursion("refrigerated", t, temps, found, 8.5) == (
        "needs_disposition",
        "Needs disposition: it fell to \u22121 °C, beyond the allowance (below 0 °C); it reached 16 °C, "
        "beyond the allowance (above 15 °C); the window MKT is 8.50 °C, above 8 °C.",
    )
    calm = [5.0] * 12 + [9.0] * 8 + [5.0] * 12
    [mild] = temperature.find_excursions(times(32), calm, 2.0, 8.0, 30, condition="refrigerated")
    assert temperature.judge_excursion("refrigerated", times(32), calm, mild, 5.4) == (
        "allowable",
        "Allowable: inside the refrigerated allowance, window MKT 5.40 °C.",
    )
