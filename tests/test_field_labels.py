"""Field keys in words for pages; other text left as it is."""

import pytest

from qa_app.field_labels import field_label, in_words


@pytest.mark.parametrize(
    ("key", "with_unit", "without"),
    [
        ("strength_mg", "Strength (mg)", "Strength"),
        ("quantity_mg", "Quantity (mg)", "Quantity"),
        ("water_percent", "Water (%)", "Water"),
        ("api_lot", "API lot", "API lot"),
        ("fill_weight_mg", "Fill weight (mg)", "Fill weight"),
        ("some_new_field", "Some new field", "Some new field"),
    ],
)
def test_a_field_label_with_and_without_its_unit(key, with_unit, without):
    assert (field_label(key), field_label(key, unit=False)) == (with_unit, without)


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (
            "strength_mg must be between 0.5 and 4.5 mg per dose (LDN); got 4.6",
            "Strength must be between 0.5 and 4.5 mg per dose (LDN); got 4.6",
        ),
        ("quantity must be more than 0 capsules; got -5", "Quantity must be more than 0 capsules; got -5"),
        ("strength_mg is required for capsules", "Strength is required for capsules"),
        (
            "quantity_mg is a trituration's total mass; give quantity for this formula.",
            "Quantity is a trituration's total mass; give quantity for this formula.",
        ),
        ("from is not a date.", "From date is not a date."),
        ("Give fill_weight_mg or api_lot first.", "Give fill weight or API lot first."),
        # not field keys: a username opening a message, one inside it, ordinary words
        ("tina is unlocked.", "tina is unlocked."),
        ("Signed in as j_smith.", "Signed in as j_smith."),
        ("Batch LDN-241120-001 released.", "Batch LDN-241120-001 released."),
        ("", ""),
    ],
)
def test_a_message_names_fields_in_words(message, shown):
    assert in_words(message) == shown
