"""The pharmacy's clock: UTC now, and today's date in the pharmacy's time zone."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from qa_app.errors import InvalidInput
from qa_app.models.types import utcnow

FUTURE_TOLERANCE = timedelta(minutes=5)


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["QA_TIMEZONE"])


def today() -> date:
    """The pharmacy's local date: BUDs and expiry dates are local dates."""
    return utcnow().astimezone(zone()).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(zone()).date()


def past_or_now(moment: datetime | None, field: str) -> datetime:
    """A record entered after the fact carries its real time, never one in the future."""
    now = utcnow()
    if moment is None:
        return now
    if moment.tzinfo is None:
        raise InvalidInput(
            f"{field} needs a time zone offset.", {field: "Add an offset, e.g. 2026-11-25T09:30:00Z."}
        )
    if moment > now + FUTURE_TOLERANCE:
        raise InvalidInput(f"{field} is in the future.", {field: "Must not be in the future."})
    return moment


def start_of_local_day(day: date, days_after: int = 0) -> datetime:
    """The UTC instant a local date begins (for filtering by the pharmacy's dates)."""
    return datetime.combine(day + timedelta(days=days_after), time(0), tzinfo=zone())


def local_time_text(moment: datetime) -> str:
    """A moment as the pharmacy reads it: ``2026-12-07 09:30`` in its time zone, 24-hour."""
    return moment.astimezone(zone()).strftime("%Y-%m-%d %H:%M")
