from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from qa_app.models import ROLES

ROLE_CHOICES = [SelectChoice(r, r.capitalize()) for r in ROLES]


class RoleField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class NewUserForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[DataRequired("Enter a username.")],
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )
    full_name = StringField(
        "Full name (printed on signatures)",
        validators=[DataRequired("Enter the full name."), Length(max=200)],
    )
    roles = RoleField("Roles", choices=ROLE_CHOICES)
    password = PasswordField(
        "Initial password (at least 12 characters)",
        validators=[DataRequired("Enter a password.")],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[EqualTo("password", "The two passwords differ; type them again.")],
        render_kw={"autocomplete": "new-password"},
    )


class RolesForm(FlaskForm):
    roles = RoleField("Roles", choices=ROLE_CHOICES)
    reason = StringField("Reason for the change", validators=[Length(max=2000)])


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[Length(max=2000)])
