"""Forms of the material and lot pages. Numbers are read here and judged by the services."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from qa_app.models import MATERIAL_KINDS
from qa_app.web.forms import IsoDateField, PlainDecimalField, SignatureFields

# A wrong signing password is reported as "signature.password"; its field here is sig_password.
SIGNATURE_ALIASES = {"signature.username": "sig_username", "signature.password": "sig_password"}
ASSAY_HINT = "API only: the assay from the supplier's certificate."
BASIS_MISSING = "Choose how the certificate states the assay: as is, or anhydrous with the water content."
LIMIT_HINT = "API only: the monograph's limit on the anhydrous basis (naltrexone HCl USP: 98.0–102.0 %)."


def float_or_none(field) -> float | None:
    return float(field.data) if field.data is not None else None


class EditMaterialForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the material's name."), Length(max=200)])
    assay_min_percent = PlainDecimalField(
        "Monograph assay minimum (%)",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    assay_max_percent = PlainDecimalField(
        "Monograph assay maximum (%)",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )


class NewMaterialForm(EditMaterialForm):
    code = StringField(
        "Code",
        validators=[DataRequired("Give a short code, e.g. NTX-HCL."), Length(max=40)],
        render_kw={"autocomplete": "off", "autofocus": True},
    )
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
    expiry_date = IsoDateField("Expiry date", validators=[InputRequired("Give the expiry date.")])
    received_date = IsoDateField(
        "Received date", validators=[InputRequired("Give the date it was received.")]
    )
    assay_percent = PlainDecimalField(
        "Assay (%)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    assay_basis = RadioField(
        "The certificate states the assay",
        choices=[
            SelectChoice("as_is", "as is"),
            SelectChoice(
                "anhydrous", "on the anhydrous basis (give the water content; it is converted to as is)"
            ),
        ],
        validators=[Optional()],
    )
    water_percent = PlainDecimalField(
        "Water (%)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )

    def validate(self, extra_validators=None) -> bool:
        """An assay is read only with its basis chosen: nothing is assumed for the person typing it."""
        valid = super().validate(extra_validators)
        if self.assay_percent.data is not None and not self.assay_basis.data:
            self.assay_basis.errors = [*self.assay_basis.errors, BASIS_MISSING]
            return False
        return valid


class ApproveLotForm(SignatureFields, FlaskForm):
    pass


class RejectLotForm(SignatureFields, FlaskForm):
    reason = TextAreaField(
        "Reason for rejecting",
        validators=[DataRequired("Give the reason for rejecting the lot."), Length(max=2000)],
        render_kw={"rows": 3},
    )


class RecallLotForm(SignatureFields, FlaskForm):
    reason = TextAreaField(
        "Reason for the recall",
        validators=[
            DataRequired("Give the reason for the recall: the supplier's notice or what was found."),
            Length(max=2000),
        ],
        render_kw={"rows": 3},
    )
