"""Statuses said in words from one table, with a rule for a code the table does not know."""

import pytest

from qa_app.models import BATCH_STATUSES, FORMULA_STATUSES, LOT_STATUSES
from qa_app.status_words import STATUS_WORDS, status_text


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("awaiting_release", "Awaiting release"),
        ("on_hold", "On hold"),
        ("quarantine", "In quarantine"),
        ("needs_disposition", "Needs a disposition"),
        ("more_units_required", "More units required"),
        (None, "—"),
    ],
)
def test_a_status_reads_as_people_say_it(code, words):
    assert status_text(code) == words


def test_every_batch_lot_and_formula_status_has_its_words():
    assert set(BATCH_STATUSES) | set(LOT_STATUSES) | set(FORMULA_STATUSES) <= set(STATUS_WORDS)
