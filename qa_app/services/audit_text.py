"""An audit event read as sentences: "Strength (mg): 1.5 → 3.0", and its action in words.

The stored event keeps its values as JSON (that is what is hashed and sealed); these functions
only say it for people. Nested values are summarised and long lists counted, so a row stays a
row; the page keeps the raw JSON one click away.
"""

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from qa_app.field_labels import ABBREVIATIONS, field_label

ACTIONS = {
    "auth.failed": "Sign-in failed",
    "auth.signed_in": "Signed in",
    "auth.signed_out": "Signed out",
    "signature.failed": "Signature refused",
    "signature.signed": "Signed",
}

MAX_TEXT = 160
MAX_LISTED = 3
MAX_SUMMARISED = 3
HEX_DIGEST = re.compile(r"[0-9a-f]{40,}")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def action_in_words(action: str) -> str:
    """``batch.component_recorded`` is "Component recorded" (the record column names the batch)."""
    if action in ACTIONS:
        return ACTIONS[action]
    words = [w.upper() if w in ABBREVIATIONS else w for w in re.split(r"[._]", action.split(".", 1)[-1]) if w]
    verb = " ".join(words) or action
    return verb[:1].upper() + verb[1:]


def entity_in_words(entity_type: str) -> str:
    """``storage_unit`` is "Storage unit"."""
    return field_label(entity_type, unit=False)


def value_in_words(
    value: Any,
    show_time: Callable[[str], str] | None = None,
    spell_out: Callable[[Any], str] | None = None,
) -> str:
    """One value, short: "—" for none, yes/no, a number as stored, a list of up to three items
    ("10 values" beyond), a small record as "Status pass; Value 100.0" ("8 fields" beyond).

    ``spell_out`` says in full a value that would be shortened: a long number, text or digest, a
    long list, a big record (a printed record, which has no "Details" to open, gives it)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = repr(value)
        if len(text) <= 10:
            return text
        return spell_out(value) if spell_out is not None else f"{value:.6g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        shown = _text(value, show_time)
        return spell_out(value) if spell_out is not None and shown.endswith("…") else shown
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        if len(value) <= MAX_LISTED and all(not isinstance(v, list | tuple | dict) for v in value):
            return ", ".join(value_in_words(v, show_time) for v in value)
        if spell_out is not None:
            return spell_out(value)
        return f"{len(value)} values" if len(value) != 1 else "1 value"
    if isinstance(value, dict):
        if not value:
            return "none"
        if len(value) <= MAX_SUMMARISED and all(
            not isinstance(v, list | tuple | dict) for v in value.values()
        ):
            return "; ".join(f"{field_label(k)} {value_in_words(v, show_time)}" for k, v in value.items())
        if spell_out is not None:
            return spell_out(value)
        return f"{len(value)} fields" if len(value) != 1 else "1 field"
    return _text(str(value), show_time)


def _text(value: str, show_time: Callable[[str], str] | None) -> str:
    if HEX_DIGEST.fullmatch(value):
        return value[:12] + "…"
    if show_time and ISO_TIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return show_time(value)
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


def change_lines(
    old: Any,
    new: Any,
    show_time: Callable[[str], str] | None = None,
    spell_out: Callable[[Any], str] | None = None,
) -> list[str]:
    """What an event changed or recorded, a line a field, in the order the event gives them.

    A field in both ``old`` and ``new`` reads "Label: old → new" (nothing when they are equal);
    a field only in ``new`` "Label: new"; a field only in ``old`` "Label: was old".
    """
    old = _as_fields(old)
    new = _as_fields(new)

    def said(value: Any) -> str:
        return value_in_words(value, show_time, spell_out)

    lines = []
    for key in [*new, *(k for k in old if k not in new)]:
        label = field_label(key)
        if key in old and key in new:
            if old[key] == new[key]:
                continue
            lines.append(f"{label}: {said(old[key])} → {said(new[key])}")
        elif key in new:
            lines.append(f"{label}: {said(new[key])}")
        else:
            lines.append(f"{label}: was {said(old[key])}")
    return lines


def _as_fields(values: Any) -> dict[str, Any]:
    if values is None:
        return {}
    return values if isinstance(values, dict) else {"value": values}
