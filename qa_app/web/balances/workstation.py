"""The balance a weighing workstation uses: the choices of the weighing form, and the last balance
used there, kept in a long-lived cookie (not the session: several people share a workstation)."""

from typing import Any

from flask import current_app, request
from werkzeug.wrappers import Response
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from qa_app.domain import weighing
from qa_app.services import balances
from qa_app.web.balances.text import plain

COOKIE = "qa_balance"
COOKIE_DAYS = 365


def balance_choices() -> list[SelectChoice]:
    """The balances in use, each with its minimum weight and capacity; unusable ones say why."""
    choices = [SelectChoice("", "Choose the balance…")]
    for b, state in balances.states(active_only=True):
        label = (
            f"{b.code} — {b.name} (min {weighing.mg_text(balances.minimum_weight_mg(b))} mg, "
            f"max {plain(b.capacity_g)} g)"
        )
        choices.append(
            SelectChoice(b.code, label if state.usable else f"{label} — NOT USABLE: {state.reason}")
        )
    return choices


def prepare_field(field: SelectField) -> None:
    """Fill the balance select; on a fresh form, choose the balance this workstation used last."""
    field.choices = balance_choices()
    if not field.data:
        remembered = request.cookies.get(COOKIE, "")
        if any(choice.value == remembered for choice in field.choices[1:]):
            field.data = remembered


def remember(response: Any, code: str | None) -> Any:
    """After a successful weighing (a redirect): this workstation's next weighing starts on the
    same balance. A refusal (the page again, with its status) is passed through."""
    if code and code.strip() and isinstance(response, Response) and 300 <= response.status_code < 400:
        response.set_cookie(
            COOKIE,
            code.strip().upper(),
            max_age=COOKIE_DAYS * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    return response
