"""Forms of the batch record pages. Numbers are read as text and checked by the services."""

from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from qa_app.errors import InvalidInput
from qa_app.services import clock
from qa_app.web.forms import SignatureFields

SCAN_HINT = "Scan the lot's barcode (or type it and press Enter)."


def local_moment(value: datetime | None) -> datetime | None:
    """A time typed on a page is the pharmacy's local time."""
    return value.replace(tzinfo=clock.zone()) if value is not None else None


def decimal_or_none(field) -> float | None:
    return float(field.data) if field.data is not None else None


class NewBatchForm(FlaskForm):
    formula = SelectField("Formula (approved version)", validators=[DataRequired("Choose a formula.")])
    strength_mg = DecimalField(
        "Strength per dose (mg)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    concentration = DecimalField(
        "Concentration (mg/mL or mg/g; liquids and creams)",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    dose_amount = DecimalField(
        "Dose volume (mL) or dose (g; liquids and creams)",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    quantity = DecimalField(
        "Quantity (capsules, mL or g)",
        places=None,
        validators=[InputRequired("Give the quantity to make.")],
        render_kw={"inputmode": "decimal"},
    )
    api_lot = StringField(
        "API lot (optional; default: the approved lot that expires first)",
        validators=[Optional(), Length(max=60)],
        render_kw={"autocomplete": "off", "data-scan": "true"},
    )
    compounded_at = DateTimeLocalField(
        "Compounding started (only for a record entered afterwards)", validators=[Optional()]
    )


class ComponentForm(FlaskForm):
    barcode = StringField(
        "Lot barcode",
        validators=[DataRequired("Scan the lot's barcode.")],
        render_kw={"autocomplete": "off", "data-scan": "true", "autofocus": True},
    )
    quantity_mg = DecimalField(
        "Weighed (mg)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    count = IntegerField("Count (containers such as capsule shells)", validators=[Optional()])
    balance = StringField("Balance", validators=[Optional(), Length(max=60)])
    deviation_reason = StringField(
        "Deviation reason (outside the weighing tolerance)", validators=[Optional(), Length(max=2000)]
    )


class VerifyForm(SignatureFields, FlaskForm):
    pass


class WeightCheckForm(FlaskForm):
    weights = TextAreaField(
        "Capsule content weights (mg), one per line; a spreadsheet column can be pasted",
        validators=[DataRequired("Enter the individual capsule weights.")],
        render_kw={"rows": 6},
    )

    def weights_mg(self) -> list[float]:
        parts = (self.weights.data or "").replace(",", " ").replace(";", " ").split()
        try:
            return [float(p) for p in parts]
        except ValueError:
            bad = next(p for p in parts if not _is_number(p))
            raise InvalidInput(
                f"{bad!r} is not a weight.", {"weights": f"{bad!r} is not a number of mg."}
            ) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class CompleteForm(FlaskForm):
    actual_yield = DecimalField(
        "Actual yield (capsules, mL or g)",
        places=None,
        validators=[InputRequired("Give the actual yield.")],
        render_kw={"inputmode": "decimal"},
    )
    storage_unit = SelectField("Storage unit", validators=[DataRequired("Choose where the batch is stored.")])
    at = DateTimeLocalField("Placed there at (default now)", validators=[Optional()])
    deviation_reason = StringField("Deviation reason (yield outside 95–105 %)", validators=[Optional()])


class DiscardForm(FlaskForm):
    reason = StringField("Reason for discarding", validators=[DataRequired("Give the reason.")])


class MoveForm(FlaskForm):
    storage_unit = SelectField("Move to", validators=[DataRequired("Choose a storage unit.")])
    at = DateTimeLocalField("Moved at (default now)", validators=[Optional()])
