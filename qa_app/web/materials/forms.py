"""Forms of the material and lot pages. Numbers are read here and judged by the services."""

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from qa_app.models import MATERIAL_KINDS
from qa_app.web.forms import SignatureFields

# A wrong signing password is reported as "signature.password"; its field here is sig_password.
SIGNATURE_ALIASES = {"signature.username": "sig_username", "signature.password": "sig_password"}
ASSAY_HINT = "API only; with water % the assay is read as anhydrous and converted."


def float_or_none(field) -> float | None:
    return float(field.data) if field.data is not None else None


class NewMaterialForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired("Give a short code, e.g. NTX-HCL."), Length(max=40)],
        render_kw={"autocomplete": "off", "autofocus": True},
    )
    name = StringField("Name", validators=[DataRequired("Give the material's name."), Length(max=200)])
    kind = SelectField("Kind", choices=[SelectChoice(k) for k in MATERIAL_KINDS])


class ReceiveLotForm(FlaskForm):
    material = SelectField(
        "Material", validators=[DataRequired("Choose the material received.")], render_kw={"autofocus": True}
    )
    supplier = StringField(
        "Supplier", validators=[DataRequired("Give the supplier's name."), Length(max=200)]
    )
    lot_number = StringField(
        "Supplier lot",
        validators=[DataRequired("Give the supplier's lot number."), Length(max=100)],
        render_kw={"autocomplete": "off"},
    )
    expiry_date = DateField("Expiry date", validators=[InputRequired("Give the expiry date.")])
    received_date = DateField("Received date", validators=[InputRequired("Give the date it was received.")])
    assay_percent = DecimalField(
        "Assay (%)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    water_percent = DecimalField(
        "Water (%)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )


class ApproveLotForm(SignatureFields, FlaskForm):
    pass


class RejectLotForm(SignatureFields, FlaskForm):
    reason = TextAreaField(
        "Reason for rejecting",
        validators=[DataRequired("Give the reason for rejecting the lot."), Length(max=2000)],
        render_kw={"rows": 3},
    )
