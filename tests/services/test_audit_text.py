"""An audit event read as sentences: field names in words, values short, raw JSON left to the page."""

import pytest

from qa_app.services.audit_text import action_in_words, change_lines, entity_in_words, value_in_words


def test_a_changed_field_reads_label_old_arrow_new():
    assert change_lines({"strength_mg": 1.5}, {"strength_mg": 3.0}) == ["Strength (mg): 1.5 → 3.0"]


def test_a_status_change_with_what_came_with_it():
    assert change_lines({"status": "quarantine"}, {"status": "awaiting_release", "holds": []}) == [
        "Status: quarantine → awaiting_release",
        "Holds: none",
    ]


def test_a_created_record_lists_each_field_once_in_the_events_order():
    assert change_lines(
        None,
        {"lot_number": "LDN-241120-001", "strength_mg": 4.5, "quantity": 100, "api_lot": "LOT000001"},
    ) == ["Lot number: LDN-241120-001", "Strength (mg): 4.5", "Quantity: 100", "API lot: LOT000001"]


def test_an_unchanged_field_is_not_repeated():
    assert change_lines(
        {"status": "draft", "bud": "2027-06-02"}, {"status": "draft", "bud": "2027-04-06"}
    ) == ["BUD: 2027-06-02 → 2027-04-06"]


def test_a_field_only_in_the_old_values_says_what_it_was():
    assert change_lines({"roles": ["technician"]}, {}) == ["Roles: was technician"]


def test_no_values_no_lines():
    assert change_lines(None, None) == []


def test_a_value_that_is_not_a_record_is_shown_as_one_value():
    assert change_lines(None, [1, 2]) == ["Value: 1, 2"]


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("strength_mg", "Strength (mg)"),
        ("quantity_mg", "Quantity (mg)"),
        ("status", "Status"),
        ("storage_unit", "Storage unit"),  # no entry: underscores become spaces
        ("retained_sample_count", "Retained sample count"),
        ("shelf_life_minutes", "Shelf life (min)"),  # a unit suffix becomes the unit
        ("target_c", "Target (°C)"),
        ("api_batch_id", "API batch ID"),  # abbreviations in capitals
    ],
)
def test_fields_are_named_in_words(key, label):
    assert change_lines(None, {key: 1}) == [f"{label}: 1"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (True, "yes"),
        (False, "no"),
        (100, "100"),
        (3.0, "3.0"),
        (450.90180360721445, "450.902"),  # the raw float stays in the details
        ("Medisca", "Medisca"),
        ([], "none"),
        (["technician", "reviewer"], "technician, reviewer"),
        ([221.7, 223.7, 223.4, 225.2, 223.6, 225.2, 224.5, 224.4, 224.8, 226.0], "10 values"),
        ([[1, 2]], "1 value"),
        ({"status": "pass", "value": 100.0}, "Status pass; Value 100.0"),
        ({f"k{i}": i for i in range(15)}, "15 fields"),
        ({"weights_mg": [1, 2]}, "1 field"),
        ("fff93110d90c06b7fa3e170e09f4b3c25bea22b938c088d94b079f4af24932f7", "fff93110d90c…"),
        ("x" * 200, "x" * 159 + "…"),
    ],
)
def test_values_are_short(value, shown):
    assert value_in_words(value) == shown


def test_a_time_with_its_offset_is_shown_as_the_page_shows_times():
    shown = change_lines(
        None, {"placed_at": "2024-11-20T10:00:00+00:00", "bud": "2025-05-18"}, show_time=lambda t: f"<{t}>"
    )
    assert shown == ["Placed at: <2024-11-20T10:00:00+00:00>", "BUD: 2025-05-18"]


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("batch.component_recorded", "Component recorded"),
        ("batch.status_changed", "Status changed"),
        ("batch.bud_changed", "BUD changed"),
        ("auth.signed_in", "Signed in"),
        ("auth.failed", "Sign-in failed"),
        ("user.created", "Created"),
        ("alerts.daily_scan", "Daily scan"),
        ("oddity", "Oddity"),
    ],
)
def test_actions_are_said_in_words(action, words):
    assert action_in_words(action) == words


def test_the_kind_of_record_is_said_in_words():
    assert [entity_in_words(e) for e in ("batch", "storage_unit", "user")] == [
        "Batch",
        "Storage unit",
        "User",
    ]
