"""Trends: the formulas with their open signals, and one formula's individuals and
moving-range charts, capability and signals, with a reviewer's acknowledgement of each signal."""

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from qa_app.domain.trending import MIN_POINTS_FOR_CAPABILITY
from qa_app.errors import InvalidInput, NotFound, ServiceError
from qa_app.extensions import db
from qa_app.models import Batch, Formula, FormulaVersion, TrendSignal
from qa_app.reports.trend_chart import RULE_WORDS, ChartPoint, individuals_chart, moving_range_chart
from qa_app.services import trend_filters, trends
from qa_app.web.access import action_required, may
from qa_app.web.forms import apply_field_errors

bp = Blueprint("trends", __name__, url_prefix="/trends")

UNITS = {"assay": "% LC", "cu_av": "AV", "weight_rsd": "% RSD", "yield": "%"}
DECIMALS = {"assay": 1, "cu_av": 1, "weight_rsd": 2, "yield": 1}
FILTER_FIELDS = ("strength", "attribute", "from", "to")


class AcknowledgeSignalForm(FlaskForm):
    comment = TextAreaField(
        "What was found or done",
        validators=[DataRequired("Say what was found or done."), Length(max=4000)],
        render_kw={"rows": 2},
    )


def _form(signal_id: int, formdata: bool = False) -> AcknowledgeSignalForm:
    """The acknowledgement form of one signal; its field is ``comment`` on every signal's form,
    with an id of its own so that the page's labels stay unique."""
    form = AcknowledgeSignalForm() if formdata else AcknowledgeSignalForm(formdata=None)
    form.comment.id = f"signal-{signal_id}-comment"
    return form


def rule_text(rule: int) -> str:
    """A Nelson rule in words, as the pages show it."""
    return f"Rule {rule}: {RULE_WORDS[rule]}"


@bp.route("/")
@action_required("trend.read")
def index():
    """Every formula with the number of its signals waiting for a reviewer."""
    open_count = (
        sa.select(TrendSignal.formula_id, sa.func.count().label("n"))
        .where(TrendSignal.acknowledged_at.is_(None))
        .group_by(TrendSignal.formula_id)
        .subquery()
    )
    batch_count = (
        sa.select(FormulaVersion.formula_id, sa.func.count(Batch.id).label("n"))
        .join(Batch, Batch.formula_version_id == FormulaVersion.id)
        .group_by(FormulaVersion.formula_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Formula, sa.func.coalesce(open_count.c.n, 0), sa.func.coalesce(batch_count.c.n, 0))
        .outerjoin(open_count, open_count.c.formula_id == Formula.id)
        .outerjoin(batch_count, batch_count.c.formula_id == Formula.id)
        .order_by(Formula.code)
    ).all()
    return render_template("trends/index.html", rows=rows)


def _strengths(formula: Formula) -> list[float]:
    versions = sa.select(FormulaVersion.id).where(FormulaVersion.formula_id == formula.id)
    stmt = (
        sa.select(Batch.strength_mg)
        .where(Batch.formula_version_id.in_(versions), Batch.strength_mg.is_not(None))
        .distinct()
        .order_by(Batch.strength_mg)
    )
    return [s for s in db.session.scalars(stmt) if s is not None]


def _filters(code: str) -> tuple[trend_filters.TrendFilters, dict[str, str]]:
    """The page's filters; a bad one is named beside its field and left out."""
    try:
        return trend_filters.read(request.args, formula=code), {}
    except InvalidInput as exc:
        if "formula" in exc.fields:
            raise NotFound(f"No formula with code {code!r}.") from None
        errors = {name: message for name, message in exc.fields.items() if name in FILTER_FIELDS}
        kept = {k: v for k, v in request.args.items() if k not in exc.fields}
        return trend_filters.read(kept, formula=code), errors


def _render(code: str, forms: dict[int, FlaskForm] | None = None, status: int = 200):
    filters, errors = _filters(code)
    series = trends.series(code, filters.attribute, filters.strength_mg, filters.date_from, filters.date_to)
    formula = series.formula
    numbers = series.as_dict()
    unit = UNITS[series.attribute]
    decimals = DECIMALS[series.attribute]
    label = trends.ATTRIBUTE_LABELS[series.attribute]
    strength = f"{filters.strength_mg:g} mg" if filters.strength_mg is not None else "every strength"
    points = [
        ChartPoint(p.lot_number, p.value, url_for("batches.record", lot_number=p.lot_number))
        for p in series.points
    ]
    chart = series.trend.chart
    signals = [(s.index, s.rule) for s in series.trend.signals]
    i_chart = Markup(
        individuals_chart(
            points,
            center=chart.center,
            ucl=chart.ucl,
            lcl=chart.lcl,
            lsl=series.lsl,
            usl=series.usl,
            signals=signals,
            title=f"Individuals chart: {label} of {formula.code}, {strength}",
            unit=unit,
            decimals=decimals,
            element_id="individuals-chart",
        )
    )
    mr_chart = Markup(
        moving_range_chart(
            points,
            mr_bar=chart.mr_bar,
            mr_ucl=chart.mr_ucl,
            title=f"Moving-range chart: {label} of {formula.code}, {strength}",
            unit=unit,
            decimals=decimals,
            element_id="mr-chart",
        )
    )
    rules_at: dict[int, list[int]] = {}
    for index, rule in signals:
        rules_at.setdefault(index, []).append(rule)
    stored = trends.signals_of(formula)
    can_acknowledge = may("trend.acknowledge")
    shown_forms = {s.id: _form(s.id) for s in stored if s.acknowledged_at is None and can_acknowledge}
    shown_forms.update(forms or {})
    return (
        render_template(
            "trends/formula.html",
            formula=formula,
            series=series,
            numbers=numbers,
            filters=filters,
            errors=errors,
            strengths=_strengths(formula),
            attributes=trends.ATTRIBUTE_LABELS,
            label=label,
            unit=unit,
            decimals=decimals,
            strength_text=strength,
            i_chart=i_chart,
            mr_chart=mr_chart,
            rules_at=rules_at,
            rule_text=rule_text,
            min_capability=MIN_POINTS_FOR_CAPABILITY,
            signals=stored,
            forms=shown_forms,
            can_acknowledge=can_acknowledge,
        ),
        400 if errors and status == 200 else status,
    )


@bp.route("/<code>")
@action_required("trend.read")
def formula(code: str):
    """One formula's trend of an attribute: the I and MR charts with their limits, the
    specification limits and the signals marked, the capability, and the stored signals."""
    return _render(code)


@bp.route("/<code>/signals/<int:signal_id>/acknowledge", methods=["POST"])
@action_required("trend.acknowledge")
def acknowledge(code: str, signal_id: int):
    """A reviewer has looked at the signal and says what was found or done (audited)."""
    form = _form(signal_id, formdata=True)
    if not form.validate_on_submit():
        if db.session.get(TrendSignal, signal_id) is None:
            raise NotFound(f"No trend signal {signal_id}.")
        return _render(code, {signal_id: form}, 400)
    try:
        signal = trends.acknowledge(current_user, signal_id, form.comment.data)
    except ServiceError as exc:
        apply_field_errors(form, exc)
        flash(exc.message, "error")
        return _render(code, {signal_id: form}, exc.status)
    flash(
        f"Signal acknowledged: {rule_text(signal.rule).lower()} at batch {signal.batch.lot_number}.",
        "success",
    )
    kept = {k: v for k, v in request.args.items() if k in FILTER_FIELDS}
    return redirect(url_for("trends.formula", code=signal.formula.code, **kept) + "#signals")
