"""Forms of the batch record pages. Numbers are read as text and checked by the services."""

from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import FieldList, FileField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from qa_app.errors import InvalidInput
from qa_app.services import clock
from qa_app.validation import numbers_by_line, one_number, parse_decimal
from qa_app.web.forms import LocalDateTimeField, PlainDecimalField, PlainIntegerField, SignatureFields

SCAN_HINT = "Scan the lot's barcode (or type it and press Enter)."


def local_moment(value: datetime | None) -> datetime | None:
    """A time typed on a page is the pharmacy's local time."""
    return value.replace(tzinfo=clock.zone()) if value is not None else None


def decimal_or_none(field) -> float | None:
    return float(field.data) if field.data is not None else None


class NewBatchForm(FlaskForm):
    formula = SelectField("Formula (approved version)", validators=[DataRequired("Choose a formula.")])
    strength_mg = PlainDecimalField(
        "Strength per dose (mg)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    concentration = PlainDecimalField(
        "Concentration (mg/mL or mg/g; liquids and creams)",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    dose_amount = PlainDecimalField(
        "Dose volume (mL) or dose (g; liquids and creams)",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    quantity = PlainDecimalField(
        "Quantity (capsules, mL or g) — a trituration: its total mass (mg)",
        places=None,
        validators=[InputRequired("Give the quantity to make.")],
        render_kw={"inputmode": "decimal"},
    )
    api_lot = StringField(
        "API lot (optional; default: the approved lot that expires first)",
        validators=[Optional(), Length(max=60)],
        render_kw={"autocomplete": "off", "data-scan": "true"},
    )
    compounded_at = LocalDateTimeField(
        "Compounding started (only for a record entered afterwards)", validators=[Optional()]
    )


class ComponentForm(FlaskForm):
    barcode = StringField(
        "Lot barcode",
        validators=[DataRequired("Scan the lot's barcode.")],
        render_kw={"autocomplete": "off", "data-scan": "true", "autofocus": True},
    )
    quantity_mg = PlainDecimalField(
        "Weighed (mg)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    count = PlainIntegerField("Count (containers such as capsule shells)", validators=[Optional()])
    balance = SelectField(
        "Balance",
        validators=[Optional(), Length(max=60)],
        validate_choice=False,  # the weighing gate names it
    )
    deviation_reason = StringField(
        "Deviation reason (outside the weighing tolerance)", validators=[Optional(), Length(max=2000)]
    )


class VerifyForm(SignatureFields, FlaskForm):
    """Signed by the verifier: at the compounder's workstation the colleague types their own
    username and password."""

    sig_username = StringField(
        "Verifier's username (your own, also at a colleague's workstation)",
        validators=[DataRequired("Enter the verifier's username to sign.")],
    )
    sig_password = PasswordField(
        "Verifier's password", validators=[DataRequired("Enter the verifier's password to sign.")]
    )


class WeightCheckForm(FlaskForm):
    weights = TextAreaField(
        "Capsule content weights (mg), one per line; a spreadsheet column can be pasted",
        validators=[DataRequired("Enter the individual capsule weights.")],
        render_kw={"rows": 6},
    )
    reason = TextAreaField(
        "Reason for a new check after a failed one (what was found and done)",
        validators=[Length(max=2000)],
        render_kw={"rows": 2},
    )

    def weights_mg(self) -> list[float]:
        """One weight per line (a pasted spreadsheet column), in plain digits with a point.

        A line that is not one number is refused naming the line, never split nor dropped:
        "225,3" is one weight written the European way, not the two weights 225 and 3.
        """
        try:
            return numbers_by_line(self.weights.data or "")
        except ValueError as exc:
            raise InvalidInput(f"{exc}.", {"weights": f"{exc}."}) from None


class CompleteForm(FlaskForm):
    actual_yield = PlainDecimalField(
        "Actual yield (capsules, mL or g)",
        places=None,
        validators=[InputRequired("Give the actual yield.")],
        render_kw={"inputmode": "decimal"},
    )
    storage_unit = SelectField("Storage unit", validators=[DataRequired("Choose where the batch is stored.")])
    at = LocalDateTimeField("Placed there at (default now)", validators=[Optional()])
    deviation_reason = StringField("Deviation reason (yield outside 95–105 %)", validators=[Optional()])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The component form on the same page has a deviation reason too: ids must stay unique.
        self.deviation_reason.id = "complete-deviation_reason"
        self.at.id = "complete-at"


class DiscardForm(FlaskForm):
    reason = StringField("Reason for discarding", validators=[DataRequired("Give the reason.")])


class MoveForm(FlaskForm):
    storage_unit = SelectField("Move to", validators=[DataRequired("Choose a storage unit.")])
    at = LocalDateTimeField("Moved at (default now)", validators=[Optional()])


class ResultForm(FlaskForm):
    """One result of one test. Content uniformity fills the grid of unit values (10, then 20)."""

    value = StringField("Result", validators=[Optional(), Length(max=2000)])
    values = FieldList(StringField("Unit", validators=[Optional()]), min_entries=10, max_entries=20)
    method = StringField("Method", validators=[Optional(), Length(max=200)])
    analyst = StringField("Analyst", validators=[Optional(), Length(max=200)])
    tested_at = LocalDateTimeField("Tested at (default now)", validators=[Optional()])

    def number_values(self) -> list[float]:
        """The grid's filled cells as numbers (the service checks how many there must be).

        A cell holds one number: "225,1" or "98.2 101.3" is refused naming the unit.
        """
        numbers = []
        for i, entry in enumerate(self.values.entries):
            text = (entry.data or "").strip()
            if not text:
                continue
            try:
                numbers.append(one_number(text, per="unit"))
            except ValueError as exc:
                raise InvalidInput(f"Unit {i + 1}: {exc}.", {"values": f"Unit {i + 1}: {exc}."}) from None
        return numbers

    def number_or_text(self, kind: str):
        text = (self.value.data or "").strip()
        if kind != "range":
            return text
        try:
            return parse_decimal(text)
        except ValueError as exc:
            wrong = f"{text[:40]!r} {exc}." if "," in text else "Give the result as a number."
            raise InvalidInput(f"{text[:40]!r} is not a number.", {"value": wrong}) from None


class OpenInvestigationForm(FlaskForm):
    retests_allowed = PlainIntegerField(
        "Retests allowed (fixed now, before any retest)",
        validators=[InputRequired("Fix the number of retests (0–10).")],
    )


class CloseInvestigationForm(SignatureFields, FlaskForm):
    phase = SelectField(
        "Phase",
        choices=[SelectChoice("I", "Phase I (laboratory)"), SelectChoice("II", "Phase II (full-scale)")],
    )
    assignable_cause = SelectField(
        "Assignable cause",
        choices=[
            SelectChoice("laboratory", "Laboratory error (invalidates the result)"),
            SelectChoice("manufacturing", "Manufacturing (confirms the OOS)"),
            SelectChoice("none", "None found (confirms the OOS)"),
        ],
    )
    cause = TextAreaField("The cause found", validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    conclusion = TextAreaField(
        "Conclusion", validators=[DataRequired("State the conclusion.")], render_kw={"rows": 3}
    )


class ImportForm(FlaskForm):
    file = FileField("Results CSV from the laboratory")
    text = TextAreaField("…or paste the CSV here", validators=[Optional()], render_kw={"rows": 8})
