"""Whether a formula's BUD category and storage fit its preparation (USP <795> 2023, domain.md §3).

The category decides the default BUD, so a category that does not describe the preparation
dates it wrongly: an unpreserved aqueous liquid kept on a room shelf, a capsule dated as an
oral liquid, a liquid dated as a capsule. Checked when a version is saved; a version approved
before these rules is read with the same function, so it is marked and makes no new batch.
"""

from collections.abc import Mapping
from typing import Any

LIQUID_FORMS = ("oral_liquid", "sublingual_drops")
REFERENCE_MIN_CHARS = 20
LITERATURE_MAX_DAYS = 180


def rule_breaches(body: Mapping[str, Any]) -> dict[str, str]:
    """``{field: the rule broken and the fix}`` for a formula body; empty when every rule holds."""
    found: dict[str, str] = {}
    form = body.get("dosage_form")
    storage = body.get("storage")
    bud = body.get("bud")
    if not isinstance(bud, Mapping):
        return found
    category = bud.get("category")
    if category == "aqueous_nonpreserved" and storage != "refrigerated":
        message = (
            "An aqueous, not preserved preparation must be stored refrigerated (2–8 °C): its "
            "14-day BUD assumes it. Choose refrigerated storage or a preserved category."
        )
        found["storage"] = message
        found["bud.category"] = message
    elif category == "nonaqueous_oral_liquid" and form not in LIQUID_FORMS:
        found["bud.category"] = (
            "The category nonaqueous oral liquid is only for oral liquids and drops; "
            "a capsule or cream is nonaqueous other (or aqueous)."
        )
    elif category == "nonaqueous_other" and form in LIQUID_FORMS:
        found["bud.category"] = (
            "The category nonaqueous other is never for an oral liquid or drops: a liquid is "
            "aqueous (preserved or not) or a nonaqueous oral liquid."
        )
    if "days" in bud or "reference" in bud:
        reference = bud.get("reference")
        if not isinstance(reference, str) or len(reference.strip()) < REFERENCE_MIN_CHARS:
            found["bud.reference"] = (
                f"A literature BUD needs its reference (at least {REFERENCE_MIN_CHARS} characters: "
                "authors, journal, year)."
            )
        days = bud.get("days")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= LITERATURE_MAX_DAYS:
            found["bud.days"] = (
                f"A literature BUD needs its days, from 1 to {LITERATURE_MAX_DAYS} "
                "(never more than 180 days, whatever the study)."
            )
    return found


def rule_summary(body: Mapping[str, Any]) -> list[str]:
    """Each broken rule once, in words, for a mark on the formula pages and a refused batch."""
    messages: list[str] = []
    for message in rule_breaches(body).values():
        if message not in messages:
            messages.append(message)
    return messages
