"""Shared form helpers: service errors shown beside the fields they name."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from qa_app.errors import ServiceError
from qa_app.extensions import db
from qa_app.services.signatures import SignatureInput


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


class SignatureFields:
    """Mixed into a signing form: the username and password, typed again at every signing."""

    sig_username = StringField("Your username", validators=[DataRequired("Enter your username to sign.")])
    sig_password = PasswordField("Your password", validators=[DataRequired("Enter your password to sign.")])

    def signature_input(self, meaning: str) -> SignatureInput:
        return SignatureInput(self.sig_username.data or "", self.sig_password.data or "", meaning)
