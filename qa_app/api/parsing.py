"""Reading dates and times out of validated JSON bodies."""

from datetime import date, datetime
from typing import Any

from qa_app.errors import InvalidInput


def date_field(body: dict[str, Any], name: str) -> date | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} is not a date.", {name: "Use YYYY-MM-DD."}) from None


def datetime_field(body: dict[str, Any], name: str) -> datetime | None:
    """An ISO 8601 time that must carry its offset (a time without one could be any zone's)."""
    value = body.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{name} is not a time.", {name: "Use ISO 8601, e.g. 2026-11-25T09:30:00Z."}
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs an offset.", {name: "Add the offset, e.g. 2026-11-25T09:30:00Z."})
    return moment
