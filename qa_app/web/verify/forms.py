"""Forms of the public verification page."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class LookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET that changes nothing

    number = StringField(
        "Certificate number",
        validators=[DataRequired("Type the number, e.g. COA-2026-00042."), Length(max=30)],
    )


class UploadForm(FlaskForm):
    file = FileField("The certificate PDF you received", validators=[FileRequired("Choose the PDF file.")])
