"""Storage forms: a new unit (limits left empty take the condition's defaults, set by the service),
readings in, sensor tokens, and the reviewer's acknowledgement and signed disposition."""

from flask_wtf import FlaskForm
from wtforms import (
    FileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from qa_app.models import CONDITIONS
from qa_app.web.forms import LocalDateTimeField, PlainDecimalField, PlainIntegerField, SignatureFields

LIMITS_HINT = (
    "Leave empty for the condition's defaults: room 20–25 °C, refrigerated 2–8 °C, freezer −25…−10 °C."
)


class NewUnitForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired("Give a short code, e.g. FRIDGE-1."), Length(max=40)],
        render_kw={"autocomplete": "off", "autofocus": True},
    )
    name = StringField("Name", validators=[DataRequired("Give the unit's name."), Length(max=200)])
    condition = SelectField("Condition", choices=[SelectChoice(c) for c in CONDITIONS])
    min_c = PlainDecimalField(
        "Lowest allowed (°C)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    max_c = PlainDecimalField(
        "Highest allowed (°C)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    alarm_delay_minutes = PlainIntegerField(
        "Alarm delay (minutes)",
        default=30,
        validators=[InputRequired("Give the alarm delay in minutes (30 if unsure).")],
    )


class UploadReadingsForm(FlaskForm):
    file = FileField("Logger CSV (header at,temperature_c; times with an offset)")


class ManualReadingForm(FlaskForm):
    temperature_c = StringField(
        "Temperature on the display (°C)",
        validators=[InputRequired("Give the temperature the display shows, e.g. 5.2.")],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    at = LocalDateTimeField(
        "Read at (local time; default now)",
        validators=[Optional()],
    )


class DeviceTokenForm(FlaskForm):
    label = StringField(
        "Sensor label",
        validators=[DataRequired("Name the sensor, e.g. its serial number."), Length(max=200)],
        render_kw={"autocomplete": "off"},
    )


class RevokeTokenForm(FlaskForm):
    """Only the CSRF token: the token to revoke is in the URL."""


class AcknowledgeForm(FlaskForm):
    comment = TextAreaField(
        "What was found or done",
        validators=[DataRequired("Say what was found or done."), Length(max=4000)],
        render_kw={"rows": 3},
    )


class DispositionForm(SignatureFields, FlaskForm):
    decision = RadioField(
        "Decision",
        choices=[
            SelectChoice("acceptable", "Acceptable: lift the hold"),
            SelectChoice("reject", "Reject the batch"),
        ],
        validators=[InputRequired("Choose acceptable or reject.")],
    )
    comment = TextAreaField(
        "Justification",
        validators=[
            DataRequired("Give the justification, e.g. the MKT and how long it lasted."),
            Length(max=4000),
        ],
        render_kw={"rows": 3},
    )
