"""Forms of the review page: the three signed decisions and the export of certificates."""

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from qa_app.web.forms import IsoDateField, SignatureFields

REASON = [DataRequired("Give the reason."), Length(max=2000)]


class ReleaseForm(SignatureFields, FlaskForm):
    """Release: the signature alone; the checklist is what is signed."""


class RejectForm(SignatureFields, FlaskForm):
    reason = TextAreaField("Reason for rejecting the batch", validators=REASON, render_kw={"rows": 3})


class RecallForm(SignatureFields, FlaskForm):
    reason = TextAreaField("Reason for the recall", validators=REASON, render_kw={"rows": 3})


class ExportForm(FlaskForm):
    date_from = IsoDateField("Issued from (local date)", validators=[InputRequired("Give the first day.")])
    date_to = IsoDateField(
        "Issued to (local date, included)", validators=[InputRequired("Give the last day.")]
    )
