"""Balance forms: the figures of a USP <41> test, taking a balance out of use, today's check."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from qa_app.web.forms import IsoDateField, PlainDecimalField


def _figure(label: str, missing: str) -> PlainDecimalField:
    return PlainDecimalField(
        label, places=None, validators=[InputRequired(missing)], render_kw={"inputmode": "decimal"}
    )


class EditBalanceForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired("Give the balance's name (make, model, where it stands)."), Length(max=200)],
    )
    readability_mg = _figure("Readability d (mg)", "Give the readability in mg, e.g. 0.01.")
    repeatability_sd_mg = _figure(
        "Repeatability s (mg, standard deviation of ≥ 10 weighings)",
        "Give the repeatability's standard deviation in mg, e.g. 0.003.",
    )
    capacity_g = _figure("Capacity (g)", "Give the capacity in g, e.g. 220.")
    qualified_on = IsoDateField("Date of the USP <41> test", validators=[Optional()])
    out_of_use = BooleanField("Out of use (no weighing or check until an admin puts it back)")
    reason = TextAreaField(
        "Reason for the change (kept in the audit trail)",
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 2},
    )


class NewBalanceForm(EditBalanceForm):
    code = StringField(
        "Code",
        validators=[DataRequired("Give a short code, e.g. XS205."), Length(max=40)],
        render_kw={"autocomplete": "off", "autofocus": True},
    )
    out_of_use = None
    reason = None


class CheckForm(FlaskForm):
    nominal_mg = PlainDecimalField(
        "Test weight (mg)",
        places=None,
        validators=[InputRequired("Give the test weight's value in mg, e.g. 100000.")],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    observed_mg = PlainDecimalField(
        "Reading (mg)",
        places=None,
        validators=[InputRequired("Give what the balance read, in mg.")],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
