"""The storage unit form: limits left empty take the condition's defaults (set by the service)."""

from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from qa_app.models import CONDITIONS

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
    min_c = DecimalField(
        "Lowest allowed (°C)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    max_c = DecimalField(
        "Highest allowed (°C)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    alarm_delay_minutes = IntegerField(
        "Alarm delay (minutes)",
        default=30,
        validators=[InputRequired("Give the alarm delay in minutes (30 if unsure).")],
    )
