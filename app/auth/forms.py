"""The account forms. Field names are fixed (browser tests and other pages rely on them);
every form carries a CSRF token through FlaskForm."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, ValidationError

from app import i18n
from app.auth.addresses import MAX_ADDRESS_LENGTH, InvalidAddress, normalise_email
from app.auth.passwords import MAX_LENGTH, check_password, policy_problem

_EMAIL_ATTRS = {"autocomplete": "email", "maxlength": MAX_ADDRESS_LENGTH, "inputmode": "email"}
_NEW_PASSWORD_ATTRS = {"autocomplete": "new-password", "minlength": 8, "maxlength": MAX_LENGTH}


def canonical_address(form, field) -> None:
    """Refuse anything but one bare address, and leave its canonical form in `field.data`."""
    try:
        field.data = normalise_email(field.data)
    except InvalidAddress as problem:
        raise ValidationError(str(problem)) from None


def password_policy(form, field) -> None:
    problem = policy_problem(field.data)
    if problem:
        raise ValidationError(problem)


def _email_field() -> EmailField:
    return EmailField(_l("Email address"), [canonical_address], render_kw=_EMAIL_ATTRS)


def _new_password_fields(label, again_label) -> tuple[PasswordField, PasswordField]:
    # Two whole labels, not one with " again" glued on: German puts the words elsewhere.
    password = PasswordField(label, [password_policy], render_kw=_NEW_PASSWORD_ATTRS)
    confirm = PasswordField(
        again_label,
        [
            InputRequired(message=_l("Type the password again.")),
            EqualTo("password", message=_l("The passwords differ.")),
        ],
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )
    return password, confirm


def _chosen_password_fields() -> tuple[PasswordField, PasswordField]:
    return _new_password_fields(_l("New password"), _l("New password again"))


class SignupForm(FlaskForm):
    """Email-first: the password is chosen on the page the emailed link opens, so only the
    mailbox owner can complete a sign-up."""

    email = _email_field()


class CompleteSignupForm(FlaskForm):
    password, password_confirm = _new_password_fields(_l("Password"), _l("Password again"))


class LoginForm(FlaskForm):
    # No format check here: every failure gets the same answer, so a typo in the address
    # must look exactly like a wrong password.
    email = EmailField(
        _l("Email address"),
        [InputRequired(message=_l("Enter your email address."))],
        render_kw=_EMAIL_ATTRS,
    )
    password = PasswordField(
        _l("Password"),
        [InputRequired(message=_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )


class EmailOnlyForm(FlaskForm):
    """Resend confirmation and request a reset: just the address."""

    email = _email_field()


class ResetPasswordForm(FlaskForm):
    password, password_confirm = _chosen_password_fields()


class ChangePasswordForm(FlaskForm):
    """Every problem is reported at once: a wrong current password beside a too-short new
    one, not one per submission."""

    current_password = PasswordField(
        _l("Current password"),
        [InputRequired(message=_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    password, password_confirm = _chosen_password_fields()

    def __init__(self, password_hash: str | None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._password_hash = password_hash

    def validate_current_password(self, field) -> None:
        if not check_password(self._password_hash, field.data):
            raise ValidationError(_l("That is not your current password."))

    def validate_password(self, field) -> None:
        # Fields validate in order, so the current password has been checked by now; only a
        # right one can say the new password is the same (a wrong one proves nothing).
        if field.errors or self.current_password.errors:
            return
        if field.data == self.current_password.data:
            raise ValidationError(_l("Choose a new password, not the one you have now."))


class ChangeEmailForm(FlaskForm):
    """A new address, and the current password: a borrowed session cannot move the account."""

    email = EmailField(_l("New email address"), [canonical_address], render_kw=_EMAIL_ATTRS)
    current_password = PasswordField(
        _l("Current password"),
        [InputRequired(message=_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )


class ConfirmForm(FlaskForm):
    """A button: the page an emailed link opens changes nothing until it is pressed."""


class CodeForm(FlaskForm):
    """The code from the email, typed on the page that asked for it."""

    code = StringField(
        _l("Code from the email"),
        [InputRequired(message=_l("Type the code from the email."))],
        render_kw={
            "autocomplete": "one-time-code",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "maxlength": 16,
        },
    )


# The account page's language choice: "browser" stores no choice (Accept-Language decides).
BROWSER_LANGUAGE = "browser"


class LanguageForm(FlaskForm):
    """The language of the pages and emails: the browser's, or one named in its own words."""

    language = RadioField(
        _l("Language"),
        choices=[
            SelectChoice(BROWSER_LANGUAGE, _l("Browser language")),
            *(SelectChoice(code, name) for code, name in i18n.LANGUAGE_NAMES.items()),
        ],
        invalid_choice_message=_l("Choose one of the languages offered."),
    )
