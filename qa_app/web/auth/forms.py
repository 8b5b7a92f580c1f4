from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from qa_app.services.alerts import KIND_WORDS


class LoginForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[DataRequired("Enter your username."), Length(max=64)],
        render_kw={"autocomplete": "username", "autofocus": True, "autocapitalize": "none"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password.")],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password (at least 12 characters)",
        validators=[DataRequired("Enter the new password.")],
        render_kw={"autocomplete": "new-password"},
    )
    repeat = PasswordField(
        "Repeat the new password",
        validators=[EqualTo("new_password", "The two passwords differ; type them again.")],
        render_kw={"autocomplete": "new-password"},
    )


class AlertKindsField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class AlertsForm(FlaskForm):
    """The e-mail address alerts go to and the kinds of alert chosen (each explained in words)."""

    email = StringField(
        "E-mail address for alerts",
        validators=[Length(max=254, message="Use at most 254 characters.")],
        render_kw={"autocomplete": "email", "type": "email"},
    )
    alerts = AlertKindsField(
        "Send an e-mail when",
        choices=[SelectChoice(kind, words) for kind, words in KIND_WORDS.items()],
    )
