"""The JSON API v1 (api.md): one blueprint, its operations described by OpenAPI."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from qa_app.api import (  # noqa: E402,F401
    audit,
    balances,
    batches,
    certificates,
    core,
    excursions,
    formulas,
    materials,
    results,
    reviews,
    storage,
    trends,
    users,
)
