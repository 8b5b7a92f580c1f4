"""Shared form helpers: service errors shown beside the fields they name."""

import decimal
import re

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, PasswordField, StringField
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, ValidationError
from wtforms.widgets import TextInput

from qa_app.errors import ServiceError
from qa_app.extensions import db
from qa_app.services import clock
from qa_app.services.signatures import SignatureInput
from qa_app.validation import local_time, parse_decimal
from qa_app.web.filters import ISO_DATE_ATTRIBUTES, ISO_TIME_ATTRIBUTES

WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,9}")


def apply_field_errors(form: FlaskForm, exc: ServiceError, aliases: dict[str, str] | None = None) -> None:
    """Put each field message of ``exc`` beside its field; the rest above the form.

    ``aliases`` maps a service's field name to the form's, where the two differ. A refusal
    leaves nothing of the use case behind: the session is rolled back first, so the page that
    follows shows what is stored, not what was attempted.
    """
    db.session.rollback()
    placed = False
    for name, message in exc.fields.items():
        name = (aliases or {}).get(name, name)
        if name.startswith("signature."):
            name = "sig_" + name.removeprefix("signature.")
        field = getattr(form, name.split(".")[-1], None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
            placed = True
    if not placed or not exc.fields:
        form.form_errors.append(exc.message)


def _typed_as(attributes: dict[str, str], render_kw: dict | None) -> dict:
    return {**{k: v for k, v in attributes.items() if k != "type"}, **(render_kw or {})}


class IsoDateField(DateField):
    """A date typed as YYYY-MM-DD in a text box, as every page writes dates (a browser's date
    picker shows its own locale's order, such as mm/dd/yyyy)."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, render_kw: dict | None = None, **kwargs) -> None:
        kwargs.setdefault("invalid_value_message", "Use YYYY-MM-DD, e.g. 2026-11-25.")
        super().__init__(label, validators, render_kw=_typed_as(ISO_DATE_ATTRIBUTES, render_kw), **kwargs)


class LocalDateTimeField(DateTimeLocalField):
    """A time typed as the pharmacy's clocks show it, YYYY-MM-DD HH:MM on the 24-hour clock in a
    text box (a browser's own picker may show mm/dd/yyyy and AM/PM); one the zone skips or
    repeats on a daylight-saving day is refused beside the field (validation.local_time)."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, render_kw: dict | None = None, **kwargs) -> None:
        kwargs.setdefault(
            "format", ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
        )
        kwargs.setdefault(
            "invalid_value_message", "Use YYYY-MM-DD HH:MM on the 24-hour clock, e.g. 2026-11-25 14:30."
        )
        super().__init__(label, validators, render_kw=_typed_as(ISO_TIME_ATTRIBUTES, render_kw), **kwargs)

    def post_validate(self, form, validation_stopped: bool) -> None:
        if validation_stopped or self.data is None:
            return
        try:
            local_time(self.data, clock.zone(), self.name)
        except ServiceError as exc:
            raise ValidationError(exc.fields[self.name]) from None


class SignatureFields:
    """Mixed into a signing form: the username and password, typed again at every signing."""

    sig_username = StringField("Your username", validators=[DataRequired("Enter your username to sign.")])
    sig_password = PasswordField("Your password", validators=[DataRequired("Enter your password to sign.")])

    def signature_input(self, meaning: str) -> SignatureInput:
        return SignatureInput(self.sig_username.data or "", self.sig_password.data or "", meaning)


class PlainDecimalField(DecimalField):
    """A number typed with the digits 0-9 and a point (validation.parse_decimal), as a Decimal.

    WTForms' own field reads whatever ``Decimal()`` takes: ``1_000``, other scripts' digits,
    exponents and ``sNaN``, which no float can hold.
    """

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        text = (valuelist[0] or "").strip()
        self.data = None
        if not text:
            raise ValueError("Give a number.")
        try:
            parse_decimal(text, "use the digits 0-9 and a point, e.g. 12.5")
        except ValueError as exc:
            raise ValueError(f"{text[:40]!r} {exc}.") from None
        self.data = decimal.Decimal(text)


class PlainIntegerField(IntegerField):
    """A whole number typed with the digits 0-9 (``int()`` also reads ``1_000`` and ``١٢``)."""

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        text = (valuelist[0] or "").strip()
        self.data = None
        if not WHOLE_NUMBER.fullmatch(text):
            raise ValueError(
                "Give a whole number with the digits 0-9, e.g. 30." if text else "Give a number."
            )
        self.data = int(text)
