"""Quality trending per formula and the trend signals waiting for a reviewer (api.md, domain.md §10)."""

from typing import Any

import sqlalchemy as sa
from flask import g, jsonify, request

from qa_app.api import bp
from qa_app.api.registry import operation
from qa_app.api.schemas import COMPONENTS, page_of, ref
from qa_app.api.serialise import iso
from qa_app.api.users import PAGE_QUERY
from qa_app.errors import InvalidInput
from qa_app.models import TREND_ATTRIBUTES, TrendSignal
from qa_app.services import trend_filters, trends
from qa_app.services.pagination import page_args, paginate

READERS = ("reviewer", "admin", "inspector")


def _open_filter(value: str | None) -> bool | None:
    if value in (None, ""):
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidInput("open is true or false.", {"open": "Use true or false."})


_NUMBER_OR_NULL = {"type": ["number", "null"]}

COMPONENTS.update(
    {
        "Trend": {
            "type": "object",
            "required": ["points", "center", "mr_bar", "sigma", "ucl", "lcl", "signals", "capability"],
            "properties": {
                "formula": {"type": "string"},
                "attribute": {"type": "string", "enum": list(TREND_ATTRIBUTES)},
                "strength_mg": {**_NUMBER_OR_NULL, "description": "null: every strength"},
                "lsl": {**_NUMBER_OR_NULL, "description": "lower specification limit"},
                "usl": {**_NUMBER_OR_NULL, "description": "upper specification limit"},
                "points": {
                    "type": "array",
                    "description": "in compounding order",
                    "items": {
                        "type": "object",
                        "required": ["lot_number", "compounded_at", "value"],
                        "properties": {
                            "lot_number": {"type": "string"},
                            "compounded_at": {"type": "string", "format": "date-time"},
                            "value": {"type": "number"},
                        },
                    },
                },
                "n": {"type": "integer"},
                "center": {**_NUMBER_OR_NULL, "description": "x̄, 2 decimals"},
                "mr_bar": {**_NUMBER_OR_NULL, "description": "MR̄, 4 decimals"},
                "sigma": {**_NUMBER_OR_NULL, "description": "σ̂ = MR̄ / 1.128, 4 decimals"},
                "ucl": {**_NUMBER_OR_NULL, "description": "x̄ + 3σ̂; null under 8 points"},
                "lcl": {**_NUMBER_OR_NULL, "description": "x̄ − 3σ̂; null under 8 points"},
                "mr_ucl": {**_NUMBER_OR_NULL, "description": "3.267·MR̄; null under 8 points"},
                "sd": {**_NUMBER_OR_NULL, "description": "overall sample SD"},
                "note": {"type": ["string", "null"], "description": "why limits are not shown, in words"},
                "signals": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["rule", "lot_number"],
                        "properties": {
                            "rule": {"type": "integer", "minimum": 1, "maximum": 4},
                            "lot_number": {"type": "string", "description": "where the pattern completes"},
                            "description": {"type": "string"},
                        },
                    },
                },
                "capability": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["n", "cpk", "ppk", "cpk_ci95"],
                            "properties": {
                                "n": {"type": "integer"},
                                "cpk": {"type": "number"},
                                "ppk": {"type": "number"},
                                "cpk_ci95": {"type": "array", "items": {"type": "number"}},
                            },
                        },
                        {"type": "null"},
                    ],
                    "description": "null under 20 points or without a specification limit",
                },
            },
        },
        "TrendSignal": {
            "type": "object",
            "required": ["id", "formula", "strength_mg", "attribute", "rule", "lot_number", "acknowledged"],
            "properties": {
                "id": {"type": "integer"},
                "formula": {"type": "string"},
                "strength_mg": {"type": "number"},
                "attribute": {"type": "string", "enum": list(TREND_ATTRIBUTES)},
                "attribute_label": {"type": "string"},
                "rule": {"type": "integer", "minimum": 1, "maximum": 4},
                "lot_number": {"type": "string", "description": "the batch where the pattern completes"},
                "description": {"type": "string"},
                "detected_at": {"type": "string", "format": "date-time"},
                "acknowledged": {"type": "boolean"},
                "acknowledged_by": {"type": ["string", "null"]},
                "acknowledged_at": {"type": ["string", "null"], "format": "date-time"},
                "comment": {"type": ["string", "null"]},
            },
        },
    }
)


def trend_signal(s: TrendSignal) -> dict[str, Any]:
    return {
        "id": s.id,
        "formula": s.formula.code,
        "strength_mg": s.strength_mg,
        "attribute": s.attribute,
        "attribute_label": trends.ATTRIBUTE_LABELS[s.attribute],
        "rule": s.rule,
        "lot_number": s.batch.lot_number,
        "description": s.description,
        "detected_at": iso(s.detected_at),
        "acknowledged": s.acknowledged_at is not None,
        "acknowledged_by": s.acknowledged_by.username if s.acknowledged_by else None,
        "acknowledged_at": iso(s.acknowledged_at),
        "comment": s.comment,
    }


def trend(series: trends.Series) -> dict[str, Any]:
    return series.as_dict()  # its times are UTC with a Z, as everywhere in the API


@operation(
    bp,
    "/trends",
    "GET",
    summary="The trend of a quality attribute",
    roles=READERS,
    tag="trends",
    response=ref("Trend"),
    query=(
        {"name": "formula", "schema": {"type": "string"}, "description": "the formula's code (required)"},
        {
            "name": "strength",
            "schema": {"type": "number"},
            "description": "mg per dose; none: every strength",
        },
        {
            "name": "attribute",
            "schema": {"type": "string", "enum": list(TREND_ATTRIBUTES)},
            "description": "default: assay",
        },
        {
            "name": "from",
            "schema": {"type": "string", "format": "date"},
            "description": "batches compounded on or after this local date",
        },
        {
            "name": "to",
            "schema": {"type": "string", "format": "date"},
            "description": "batches compounded on or before this local date",
        },
    ),
    errors=(404,),
)
def get_trend():
    """The points in compounding order, the individuals chart (centre, MR̄, σ̂, limits), the
    Nelson signals 1–4 with the batch where each completes, and the capability. Limits are null
    under 8 points (``note`` says why), the capability under 20."""
    filters = trend_filters.read(request.args)
    series = trends.series(
        filters.formula, filters.attribute, filters.strength_mg, filters.date_from, filters.date_to
    )
    return jsonify(trend(series))


@operation(
    bp,
    "/trend-signals",
    "GET",
    summary="List trend signals",
    roles=("reviewer",),
    tag="trends",
    response=page_of(ref("TrendSignal")),
    query=(
        {
            "name": "open",
            "schema": {"type": "boolean"},
            "description": "true: waiting for acknowledgement; false: acknowledged",
        },
        *PAGE_QUERY,
    ),
)
def list_trend_signals():
    """Oldest first. ``open=true`` gives the signals waiting for a reviewer's acknowledgement."""
    wanted = _open_filter(request.args.get("open"))
    stmt = sa.select(TrendSignal).order_by(TrendSignal.id)
    if wanted is True:
        stmt = stmt.where(TrendSignal.acknowledged_at.is_(None))
    elif wanted is False:
        stmt = stmt.where(TrendSignal.acknowledged_at.is_not(None))
    page, per_page = page_args(request.args)
    return jsonify(paginate(stmt, page, per_page).as_dict(trend_signal))


@operation(
    bp,
    "/trend-signals/<int:signal_id>/acknowledge",
    "POST",
    summary="Acknowledge a trend signal",
    roles=("reviewer",),
    tag="trends",
    body="Acknowledgement",
    response=ref("TrendSignal"),
    errors=(404, 409),
)
def acknowledge_trend_signal(signal_id, body):
    """A reviewer has looked at the signal and says what was found or done; audited. A signal
    acknowledged already is a 409."""
    return jsonify(trend_signal(trends.acknowledge(g.actor, signal_id, body["comment"])))
