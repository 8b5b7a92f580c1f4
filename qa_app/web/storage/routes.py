"""Storage units: the list with their limits, creating one, and each unit's page: its chart over
a window of time, the summary and MKT, its excursions, readings in, and its sensors' tokens."""

from dataclasses import dataclass
from datetime import date, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from qa_app.errors import ServiceError
from qa_app.extensions import db
from qa_app.reports.chart import Span, temperature_chart
from qa_app.services import clock, readings, storage, storage_view, tokens
from qa_app.services.excursions import states as excursion_states
from qa_app.services.pagination import page_args
from qa_app.validation import EARLIEST, LATEST
from qa_app.web.access import action_required, may
from qa_app.web.batches.forms import local_moment
from qa_app.web.forms import apply_field_errors
from qa_app.web.storage.forms import (
    LIMITS_HINT,
    DeviceTokenForm,
    ManualReadingForm,
    NewUnitForm,
    RevokeTokenForm,
    UploadReadingsForm,
)

bp = Blueprint("storage", __name__, url_prefix="/storage")


def limits_text(min_c: float, max_c: float) -> str:
    """Limits as the pages show them: 2.0–8.0 °C, and −25.0…−10.0 °C with true minus signs."""
    low, high = (f"{value:.1f}".replace("-", "\u2212") for value in (min_c, max_c))
    return f"{low}{'…' if min_c < 0 else '–'}{high} °C"


@bp.route("/")
def units():
    """Every refrigerator, shelf and freezer with its temperature limits and alarm delay."""
    return render_template("storage/units.html", units=storage.list_units(), limits_text=limits_text)


@bp.route("/new", methods=["GET", "POST"])
@action_required("storage.create_unit")
def new_unit():
    """Create a storage unit; on an error the form comes back with what was typed."""
    form = NewUnitForm()
    status = 200
    if form.validate_on_submit():
        try:
            unit = storage.create_unit(
                current_user,
                code=form.code.data,
                name=form.name.data,
                condition=form.condition.data,
                min_c=float(form.min_c.data) if form.min_c.data is not None else None,
                max_c=float(form.max_c.data) if form.max_c.data is not None else None,
                alarm_delay_minutes=form.alarm_delay_minutes.data,
            )
        except ServiceError as exc:
            apply_field_errors(form, exc)
            status = exc.status
        else:
            flash(f"Storage unit {unit.code} created: {limits_text(unit.min_c, unit.max_c)}.", "success")
            return redirect(url_for("storage.units"))
    if form.errors and status == 200:
        status = 400
    return render_template("storage/new_unit.html", form=form, limits_hint=LIMITS_HINT), status


@dataclass(frozen=True)
class Window:
    """The stretch of time a unit's page shows: a preset ending now, or local dates."""

    key: str
    start: datetime
    end: datetime
    label: str
    first_day: date | None = None
    last_day: date | None = None


def window_from_args(condition: str, args) -> tuple[Window, str | None]:
    """The window asked for, or the condition's default with the reason the request was refused."""
    now = clock.utcnow()
    key = args.get("window", "")
    if not key and not (args.get("start") or args.get("end")):
        key = storage_view.default_window(condition)
    if key in storage_view.PRESETS:
        length, label = storage_view.PRESETS[key]
        return Window(key, now - length, now, label), None
    try:
        first = date.fromisoformat(args.get("start", ""))
        last = date.fromisoformat(args.get("end", "") or clock.today().isoformat())
    except ValueError:
        error = "Give the window's dates as YYYY-MM-DD, e.g. 2026-03-01."
    else:
        if not EARLIEST.date() <= min(first, last) <= max(first, last) < LATEST.date():
            # next to years 1 and 9999 there is no day after, nor a year for the chart's ticks
            error = "Give the window's dates between the years 1900 and 8999."
        elif last < first:
            error = "The window's last day is before its first day."
        else:
            start, end = clock.start_of_local_day(first), min(clock.start_of_local_day(last, 1), now)
            if start >= now:
                error = "The window starts in the future."
            else:
                return Window(
                    "dates", start, end, f"{first.isoformat()} to {last.isoformat()}", first, last
                ), None
    fallback, _ = window_from_args(condition, {})
    return fallback, error


def chart_svg(unit, series, start, end, spans, *, title: str, hourly: bool, element_id: str) -> Markup:
    """The SVG chart of a unit's series with its excursions shaded, each linking to its page
    (a decided one shaded as dispositioned)."""
    state = excursion_states(list(spans))
    return Markup(
        temperature_chart(
            series["t"],
            series["mean"],
            series["min"],
            series["max"],
            start=start,
            end=end,
            min_c=unit.min_c,
            max_c=unit.max_c,
            spans=[
                Span(
                    e.start,
                    e.end,
                    "dispositioned" if state[e.id] == "dispositioned" else e.classification,
                    f"Excursion {e.id}: {state[e.id].replace('_', ' ')}, {e.min_c:g} to {e.max_c:g} °C".replace(
                        "-", "\u2212"
                    ),
                    url_for("storage.excursion", excursion_id=e.id),
                )
                for e in spans
            ],
            zone=clock.zone(),
            title=title,
            series_label="Hourly mean" if hourly else "Readings",
            element_id=element_id,
        )
    )


def _render_unit(
    unit_code: str,
    forms: dict | None = None,
    status: int = 200,
    bad_rows: list[dict] | None = None,
    new_token: tuple | None = None,
):
    unit = storage.get_unit(unit_code, field="unit_code")
    window, window_error = window_from_args(unit.condition, request.args)
    page, per_page = page_args(request.args, default_per_page=20)
    view = storage_view.unit_view(unit.code, window.start, window.end, page, per_page)
    shown = {
        "upload": UploadReadingsForm(formdata=None),
        "manual": ManualReadingForm(formdata=None),
        "token": DeviceTokenForm(formdata=None),
        "revoke": RevokeTokenForm(formdata=None),
    }
    shown.update(forms or {})
    if shown["manual"].at.data is None and not shown["manual"].is_submitted():
        shown["manual"].at.data = (
            clock.utcnow().astimezone(clock.zone()).replace(second=0, microsecond=0, tzinfo=None)
        )
    is_admin = may("storage.device_tokens")
    chart = chart_svg(
        unit,
        view.series,
        window.start,
        window.end,
        view.spans,
        title=f"{unit.code} temperatures, {window.label.lower()}",
        hourly=view.hourly,
        element_id="unit-chart",
    )
    response = render_template(
        "storage/unit.html",
        view=view,
        unit=unit,
        window=window,
        window_error=window_error,
        presets=storage_view.PRESETS,
        chart=chart,
        limits_text=limits_text,
        forms=shown,
        bad_rows=bad_rows or [],
        can_record=may("storage.record_readings"),
        is_admin=is_admin,
        device_tokens=tokens.device_tokens(unit.code) if is_admin else [],
        new_token=new_token,
        window_words=storage_view.window_words,
    )
    if window_error and status == 200:
        status = 400
    headers = {"Cache-Control": "no-store"} if new_token else {}
    return response, status, headers


@bp.route("/<unit_code>")
def unit(unit_code: str):
    """One unit: limits, a chart over a chosen window, the window's summary and MKT, the MKT over
    the condition's own window, the excursions, and the forms for readings and sensor tokens."""
    return _render_unit(unit_code)


def _unit_url(unit_code: str, anchor: str, **args) -> str:
    return url_for("storage.unit", unit_code=unit_code.upper(), **args) + f"#{anchor}"


@bp.route("/<unit_code>/readings/upload", methods=["POST"])
@action_required("storage.record_readings")
def upload_readings(unit_code: str):
    """A logger's CSV: every row stored or none, each bad row named with its fix."""
    form = UploadReadingsForm()
    if not form.validate_on_submit():
        return _render_unit(unit_code, {"upload": form}, 400)
    upload = request.files.get(form.file.name)
    if upload is None or not upload.filename:
        form.file.errors = ["Choose the logger's CSV file."]
        return _render_unit(unit_code, {"upload": form}, 400)
    try:
        rows = readings.rows_from_csv(upload.read())
        result = readings.ingest(unit_code, rows, source="csv", actor=current_user, filename=upload.filename)
    except ServiceError as exc:
        apply_field_errors(form, exc)
        return _render_unit(unit_code, {"upload": form}, exc.status, bad_rows=exc.rows)
    flash(
        f"{upload.filename}: accepted {result.accepted}, duplicates {result.duplicates}.",
        "success",
    )
    return redirect(_after_readings(unit_code, result))


def _after_readings(unit_code: str, result: readings.IngestResult) -> str:
    """Back to the unit, over a window that shows what arrived when it lies before the default one."""
    unit = storage.get_unit(unit_code)
    window, _ = window_from_args(unit.condition, {})
    first, last = result.upload.first_at, result.upload.last_at
    if first is None or last is None or first >= window.start:
        return _unit_url(unit.code, "chart")
    return _unit_url(
        unit.code, "chart", start=clock.local_date(first).isoformat(), end=clock.local_date(last).isoformat()
    )


def _place_problems(form: ManualReadingForm, rows: list[dict]) -> None:
    """The service names the one row's problems by column ("at …; temperature_c …"): put each
    beside its field, the rest (a clash with a stored reading) above the form."""
    for row in rows:
        for problem in row["message"].rstrip(".").split("; "):
            name = next((n for n in ("at", "temperature_c") if problem.startswith(n + " ")), None)
            if name is None:
                form.form_errors.append(problem + ".")
                continue
            text = problem[len(name) + 1 :]
            getattr(form, name).errors.append(f"{text[:1].upper()}{text[1:]}.")


@bp.route("/<unit_code>/readings/manual", methods=["POST"])
@action_required("storage.record_readings")
def manual_reading(unit_code: str):
    """The twice-daily reading from the unit's display; the time defaults to now."""
    form = ManualReadingForm()
    if not form.validate_on_submit():
        return _render_unit(unit_code, {"manual": form}, 400)
    moment = local_moment(form.at.data)
    try:
        result = readings.manual_reading(current_user, unit_code, moment, form.temperature_c.data)
    except ServiceError as exc:
        if exc.rows:
            db.session.rollback()
            _place_problems(form, exc.rows)
        else:
            apply_field_errors(form, exc)
        return _render_unit(unit_code, {"manual": form}, exc.status)
    shown = f"{form.temperature_c.data.strip()} °C"
    at = result.upload.first_at
    when = at.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M %Z") if at else ""
    if result.accepted:
        flash(f"Reading of {shown} at {when} recorded.", "success")
    else:
        flash(f"The reading of {shown} at {when} was stored already; nothing changed.", "info")
    return redirect(_unit_url(unit_code, "chart"))


@bp.route("/<unit_code>/device-tokens", methods=["POST"])
@action_required("storage.device_tokens")
def issue_device_token(unit_code: str):
    """A token for one sensor of this unit; its secret is shown on this answer only."""
    form = DeviceTokenForm()
    if not form.validate_on_submit():
        return _render_unit(unit_code, {"token": form}, 400)
    try:
        secret, token = tokens.issue_device_token(current_user, unit_code, form.label.data)
    except ServiceError as exc:
        apply_field_errors(form, exc)
        return _render_unit(unit_code, {"token": form}, exc.status)
    return _render_unit(unit_code, new_token=(token, secret))


@bp.route("/<unit_code>/device-tokens/<int:token_id>/revoke", methods=["POST"])
@action_required("storage.device_tokens")
def revoke_device_token(unit_code: str, token_id: int):
    """Stop a sensor's token at once; the readings it sent stay."""
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        return _render_unit(unit_code, {"revoke": form}, 400)
    try:
        token = tokens.revoke_device_token(current_user, unit_code, token_id)
    except ServiceError as exc:
        apply_field_errors(form, exc)
        flash(exc.message, "error")
        return _render_unit(unit_code, {"revoke": form}, exc.status)
    flash(f"Device token “{token.label}” revoked: the sensor can no longer post readings.", "success")
    return redirect(_unit_url(unit_code, "tokens"))


from qa_app.web.storage import excursions  # noqa: E402, F401  (its routes join this blueprint)
