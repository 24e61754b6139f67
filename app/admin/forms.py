"""The admin console's forms. Each POST form is a FlaskForm, so it carries a CSRF token."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from app.auth.addresses import MAX_ADDRESS_LENGTH, InvalidAddress, normalise_email
from app.mail.models import EXPIRED, FAILED, QUEUED, SENDING, SENT, STATUSES, SUPPRESSED

# The words shown for each status; the value in the URL (`?status=sent`) stays English.
STATUS_LABELS = {
    QUEUED: _l("queued"),
    SENDING: _l("sending"),
    SENT: _l("sent"),
    FAILED: _l("failed"),
    SUPPRESSED: _l("suppressed"),
    EXPIRED: _l("expired"),
}
_EMAIL_ATTRS = {"maxlength": MAX_ADDRESS_LENGTH, "inputmode": "email", "autocomplete": "email"}


def canonical_address(form, field) -> None:
    """One bare address, left in `field.data` in the form it will be mailed to."""
    if not field.data:
        return
    try:
        field.data = normalise_email(field.data)
    except InvalidAddress as problem:
        raise ValidationError(str(problem)) from None


class TestEmailForm(FlaskForm):
    to = EmailField(_l("Send a test email to"), [canonical_address], render_kw=_EMAIL_ATTRS)

    def validate_to(self, field) -> None:
        if not field.data:
            raise ValidationError(_("Enter the address to send the test email to."))


class CheckForm(FlaskForm):
    rcpt = EmailField(
        _l("Recipient to ask about (default: your own address)"),
        [Optional(), canonical_address],
        render_kw=_EMAIL_ATTRS,
    )


class ActionForm(FlaskForm):
    """A button that changes something (retry): only the CSRF token."""


def printable(form, field) -> None:
    """No control characters: no address has them, and PostgreSQL refuses a NUL outright."""
    if field.data and any(ord(c) < 32 or ord(c) == 127 for c in field.data):
        raise ValidationError(_("Control characters are not part of any address."))


class OutboxFilterForm(FlaskForm):
    """The outbox list's filters: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("Any status")),
            *(SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES),
        ],
        default="",
    )
    q = StringField(_l("Address contains"), [Optional(), Length(max=MAX_ADDRESS_LENGTH), printable])
