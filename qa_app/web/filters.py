"""Template helpers: local times with their zone, BUD and yield marks, and safe query strings."""

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request
from markupsafe import Markup

from qa_app.domain import compounding
from qa_app.domain.rounding import round_half_up
from qa_app.field_labels import in_words
from qa_app.services import audit_text, clock
from qa_app.status_words import status_text
from qa_app.web.access import may


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    """A UTC timestamp shown in the pharmacy's time zone, with the zone named."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(current_app.config["QA_TIMEZONE"])).strftime(fmt)


def iso_local_time(value: str | None) -> str:
    """An ISO 8601 time kept as text (e.g. in audit values) shown like every other time."""
    return local_time(datetime.fromisoformat(value)) if value else ""


def bud_mark(bud: date) -> Markup:
    """EXPIRED or near BUD (14 days), by the domain's rules and the pharmacy's today."""
    today = clock.today()
    if compounding.expired(bud, today):
        return Markup(' <span class="mark-fail">EXPIRED</span>')
    if compounding.near_bud(bud, today):
        return Markup(' <span class="mark-warn">near BUD</span>')
    return Markup("")


def yield_within(percent: float) -> bool:
    return not compounding.yield_needs_reason(percent)


def celsius(value: float | None, decimals: int = 2) -> str:
    """A temperature rounded half-up, with a true minus sign: "−18.25 °C"; "—" when there is none."""
    if value is None:
        return "—"
    return f"{round_half_up(value, decimals)} °C".replace("-", "\u2212")


def duration(minutes: float | None) -> str:
    """A length of time as people say it: "45 min", "4 h 05 min", "2 d 3 h"."""
    if minutes is None:
        return "—"
    whole = int(round_half_up(minutes, 0))
    days, rest = divmod(whole, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins:02d} min" if hours else f"{mins} min"


def audit_changes(event) -> list[str]:
    """An audit event's values as lines, "Strength (mg): 1.5 → 3.0", times in local time."""
    return audit_text.change_lines(event.old_values, event.new_values, show_time=iso_local_time)


ISO_DATE_ATTRIBUTES = {
    "type": "text",
    "inputmode": "numeric",
    "pattern": r"\d{4}-\d{2}-\d{2}",
    "placeholder": "YYYY-MM-DD",
    "title": "A date as YYYY-MM-DD, e.g. 2026-11-25",
    "autocomplete": "off",
}
ISO_TIME_ATTRIBUTES = {
    "type": "text",
    "inputmode": "numeric",
    "pattern": r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?",
    "placeholder": "YYYY-MM-DD HH:MM",
    "title": "A date and 24-hour time as YYYY-MM-DD HH:MM, e.g. 2026-11-25 14:30",
    "autocomplete": "off",
}


def iso_date_attributes() -> Markup:
    """A date typed as YYYY-MM-DD in a text box: a browser's date picker shows its own locale's
    order (mm/dd/yyyy) beside pages that write ISO dates."""
    return Markup(" ").join(Markup('{}="{}"').format(k, v) for k, v in ISO_DATE_ATTRIBUTES.items())


def pretty_json(value) -> str:
    """Stored values as indented JSON text for people (escaped by the template like any text)."""
    return json.dumps(value, indent=1, ensure_ascii=False)


def query_args(**changes) -> dict[str, str]:
    """The current query string as url_for arguments, with ``changes`` applied.

    Names starting with an underscore are url_for's own options (``_method``, ``_external``),
    so a visitor's query string must never pass them through.
    """
    args = {k: v for k, v in request.args.items() if not k.startswith("_")}
    args.update(changes)
    return args


def init_app(app: Flask) -> None:
    ZoneInfo(app.config["QA_TIMEZONE"])  # an unknown zone fails at start-up, not on a page
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(iso_local_time, "iso_local_time")
    app.add_template_filter(celsius, "celsius")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(audit_changes, "audit_changes")
    app.add_template_filter(audit_text.action_in_words, "action_in_words")
    app.add_template_filter(audit_text.entity_in_words, "entity_in_words")
    app.add_template_filter(in_words, "in_words")
    app.add_template_filter(pretty_json, "pretty_json")
    app.add_template_filter(status_text, "status_text")
    app.add_template_global(query_args, "query_args")
    app.add_template_global(iso_date_attributes, "iso_date_attributes")
    app.add_template_global(bud_mark, "bud_mark")
    app.add_template_global(yield_within, "yield_within")
    app.add_template_global(may, "may")

    @app.context_processor
    def pharmacy():
        return {"pharmacy_name": app.config["QA_PHARMACY_NAME"]}
