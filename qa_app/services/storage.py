"""Storage units: where batches are kept, with the limits their condition sets."""

import re

import sqlalchemy as sa

from qa_app.domain import temperature
from qa_app.domain.temperature import default_limits
from qa_app.errors import Conflict, InvalidInput, NotFound
from qa_app.extensions import db
from qa_app.models import CONDITIONS, StorageUnit, User
from qa_app.services import audit
from qa_app.services.accounts import require_role

UNIT_CODE = re.compile(r"[A-Z0-9_-]+")


def unit_state(unit: StorageUnit) -> dict:
    return {
        "code": unit.code,
        "name": unit.name,
        "condition": unit.condition,
        "min_c": unit.min_c,
        "max_c": unit.max_c,
        "alarm_delay_minutes": unit.alarm_delay_minutes,
    }


def create_unit(
    actor: User,
    *,
    code: str,
    name: str,
    condition: str,
    min_c: float | None = None,
    max_c: float | None = None,
    alarm_delay_minutes: int = 30,
) -> StorageUnit:
    """A new unit; its limits default from the condition (20–25, 2–8, −25…−10 °C)."""
    require_role(actor, "admin")
    code, name = (code or "").strip().upper(), (name or "").strip()
    fields: dict[str, str] = {}
    if not code or len(code) > 40:
        fields["code"] = "Give a short code of 1–40 characters, e.g. FRIDGE-1."
    elif not UNIT_CODE.fullmatch(code):  # it is part of page and API addresses
        fields["code"] = "Use only letters A–Z, digits, hyphens (-) and underscores (_), e.g. FRIDGE-1."
    if not name:
        fields["name"] = "Give the unit's name."
    if condition not in CONDITIONS:
        fields["condition"] = f"Use one of: {', '.join(CONDITIONS)}."
    else:
        low, high = default_limits(condition)
        min_c = low if min_c is None else min_c
        max_c = high if max_c is None else max_c
        if not -80 <= min_c < max_c <= 80:
            fields["max_c"] = "The limits must lie in −80…80 °C with min_c below max_c."
        else:  # wider limits would hide the excursions that hold its batches
            kept = f"a {condition} unit is kept at {low:.1f}–{high:.1f} °C."
            if min_c < low:
                fields["min_c"] = f"At least {low:.1f} °C: {kept}"
            if max_c > high:
                fields["max_c"] = f"At most {high:.1f} °C: {kept}"
    if not 0 <= alarm_delay_minutes <= temperature.MAX_ALARM_DELAY_MINUTES:
        fields["alarm_delay_minutes"] = (
            f"From 0 to at most {temperature.MAX_ALARM_DELAY_MINUTES} minutes: the delay only filters "
            "brief readings; a longer one would hide an excursion that harms the preparations."
        )
    if fields:
        raise InvalidInput("The storage unit was not created: correct the marked fields.", fields)
    if db.session.scalar(sa.select(StorageUnit.id).where(StorageUnit.code == code)):
        raise Conflict(f"Storage unit {code} exists already.", {"code": "This code is taken."})
    unit = StorageUnit(
        code=code,
        name=name,
        condition=condition,
        min_c=min_c,
        max_c=max_c,
        alarm_delay_minutes=alarm_delay_minutes,
    )
    db.session.add(unit)
    db.session.flush()
    audit.record("storage_unit.created", "storage_unit", code, actor=actor, new=unit_state(unit))
    db.session.commit()
    return unit


def get_unit(code: str, field: str = "storage_unit") -> StorageUnit:
    unit = db.session.scalar(sa.select(StorageUnit).where(StorageUnit.code == (code or "").strip().upper()))
    if unit is None:
        raise NotFound(f"No storage unit with code {code!r}.", {field: "Unknown storage unit."})
    return unit


def list_units() -> list[StorageUnit]:
    return list(db.session.scalars(sa.select(StorageUnit).order_by(StorageUnit.code)))
