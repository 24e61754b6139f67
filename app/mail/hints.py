"""Plain-words hints: what an SMTP failure most likely means and which setting to change.

Used by the connection doctor (app/mail/doctor/) for each failed step, and by
the admin outbox pages for the classified error of a delivery attempt. The replies
particular providers give are in provider_replies.py, token failures in token_hints.py.
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.mail import provider_replies, token_hints
from app.mail.transport import SmtpSettings


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark only"
    """Marks a hint for translation; render() translates it when it is shown, so the
    constants stay English (and comparable) and `flask mail check` speaks English."""
    return message


NOTHING_LISTENING = N_(
    "Nothing is listening at {relay}: the connection was refused. Check MAIL_SERVER and "
    "MAIL_PORT (587 is the usual submission port with STARTTLS, 465 with implicit TLS), "
    "and that no firewall rejects the connection."
)
TIMEOUT = N_(
    "{relay} did not answer within MAIL_TIMEOUT ({timeout:g} s). A firewall may be silently "
    "dropping the connection (many hosting providers block outgoing ports 25 and 587), or "
    "the server is overloaded."
)
HOST_NOT_FOUND = N_(
    "The host name {server!r} could not be resolved. Check the spelling of MAIL_SERVER and "
    "that this machine can resolve public names (DNS)."
)
EXPECTS_IMPLICIT_TLS = N_(
    "The server said nothing in clear but completed a TLS handshake: {relay} expects TLS "
    "from the first byte (implicit TLS, usually port 465). Set MAIL_USE_SSL=true and "
    "MAIL_USE_TLS=false, or set MAIL_PORT to the server's STARTTLS port (usually 587)."
)
SPEAKS_PLAIN = N_(
    "The server answered in plain text, not TLS: {relay} speaks plain SMTP with STARTTLS "
    "(usually ports 587 and 25). Set MAIL_USE_SSL=false and MAIL_USE_TLS=true, or set "
    "MAIL_PORT to the server's implicit TLS port (usually 465)."
)
TLS_FAILED = N_(
    "The TLS handshake with {relay} failed. If the server expects STARTTLS (usually 587) "
    "set MAIL_USE_TLS=true and MAIL_USE_SSL=false; if it expects implicit TLS (usually 465) "
    "the reverse."
)
CERT_UNTRUSTED = N_(
    "The server's certificate is not signed by an authority this machine trusts. If the "
    "server uses a private or internal CA, set MAIL_CA_FILE to that CA's certificate (PEM). "
    "MAIL_TLS_VERIFY=false would turn the check off, but then anyone between here and the "
    "server could read the password."
)
CERT_WRONG_NAME = N_(
    "The server's certificate is for another name than {server!r}. Set MAIL_SERVER to a "
    "name the certificate covers (the provider's documented host name), not an IP address "
    "or an alias."
)
CERT_EXPIRED = N_(
    "The server's certificate has expired: the mail provider has to renew it. Until then "
    "delivery over verified TLS is not possible."
)
NO_STARTTLS = N_(
    "MAIL_USE_TLS is on but {relay} does not offer STARTTLS. If this port speaks implicit "
    "TLS (usually 465) set MAIL_USE_SSL=true and MAIL_USE_TLS=false; otherwise check "
    "MAIL_PORT (587 is the usual STARTTLS port)."
)
NEEDS_STARTTLS = N_(
    "The server accepts nothing before STARTTLS (530): set MAIL_USE_TLS=true so the "
    "session is encrypted first."
)
AUTH_AFTER_STARTTLS = N_(
    "The server offers AUTH only after STARTTLS, so credentials are never sent in clear. "
    "Set MAIL_USE_TLS=true."
)
NO_AUTH = N_(
    "MAIL_USERNAME is set but {relay} offers no AUTH. Port 25 is often relay-only: use the "
    "provider's submission port (587 with MAIL_USE_TLS=true, or 465 with MAIL_USE_SSL=true), "
    "or unset MAIL_USERNAME and MAIL_PASSWORD if the server relays for this host."
)
CREDENTIALS_REJECTED = N_(
    "The server rejected the username and password (535). Check MAIL_USERNAME and "
    "MAIL_PASSWORD. Gmail refuses the normal account password here (use an app password), "
    "and Microsoft 365 wants MAIL_AUTH=xoauth2 (docs/providers.md)."
)
NO_XOAUTH2 = N_(
    "MAIL_AUTH is xoauth2 but {relay} does not offer AUTH XOAUTH2. Microsoft 365 "
    "(smtp.office365.com:587) and Gmail (smtp.gmail.com:587) do: check MAIL_SERVER, or set "
    "MAIL_AUTH=password for a server that takes a user name and password."
)
AUTH_REQUIRED = N_(
    "The server requires authentication first (530). Set MAIL_USERNAME and MAIL_PASSWORD; "
    "if they are set, the server may also require encryption first: set MAIL_USE_TLS=true "
    "or MAIL_USE_SSL=true."
)
AUTH_FAILED = N_(
    "The server did not accept the login. Check MAIL_USERNAME and MAIL_PASSWORD; some "
    "providers also require SMTP access to be enabled for the account."
)
SENDER_REFUSED = N_(
    "The server refused the sender {sender!r}: the account may not send as "
    "MAIL_DEFAULT_SENDER. Use an address the account owns, or add it as an allowed sender "
    "(alias) at the mail provider."
)
RECIPIENT_REFUSED = N_(
    "The server refused the recipient. The address may not exist, or the server does not "
    "relay to other domains for this account."
)
NO_SMTPUTF8 = N_(
    "An address here is not plain ASCII and {relay} does not offer SMTPUTF8, so it cannot "
    "take mail for it. Use the address's ASCII form, or an SMTP server that offers SMTPUTF8."
)
TEMPORARY = N_("The server answered with a temporary error (4xx): try again in a few minutes.")
DISCONNECTED = N_(
    "The server closed the connection. It may limit connections from this address, or "
    "expect TLS where plain SMTP was spoken (check MAIL_USE_SSL / MAIL_USE_TLS / MAIL_PORT)."
)
UNEXPECTED_REPLY = N_("The server answered with an error; its reply above says why.")


def render(template: str, settings: SmtpSettings, sender: str = "", **extra) -> str:
    """Fill a template's {relay}, {server}, {timeout}, {sender}, {username} and `extra`."""
    values = {
        "relay": settings.relay,
        "server": settings.server,
        "timeout": settings.timeout,
        "sender": sender,
        "username": settings.username or "MAIL_USERNAME",
        "code": "",
        **extra,
    }
    # str(): a provider's hint may be a lazy string already.
    return _(str(template)).format(**values)


def for_reply(code: int | None, step: str, text: str = "") -> str:
    """A hint for an SMTP reply code at one step of a transaction (MAIL, RCPT, DATA)."""
    if code is None:
        return UNEXPECTED_REPLY
    if code == 530:
        return NEEDS_STARTTLS if "starttls" in text.lower() else AUTH_REQUIRED
    if 400 <= code < 500:
        return TEMPORARY
    if step == "mail_from":
        return SENDER_REFUSED
    if step == "rcpt_to":
        return RECIPIENT_REFUSED
    return UNEXPECTED_REPLY


# The error classes transport.py gives delivery failures, and what they mean to an admin.
_BY_ERROR_CLASS = {
    "refused": NOTHING_LISTENING,
    "timeout": TIMEOUT,
    "dns": HOST_NOT_FOUND,
    "certificate": CERT_UNTRUSTED,
    "tls": TLS_FAILED,
    "auth": CREDENTIALS_REJECTED,
    "sender-refused": SENDER_REFUSED,
    "disconnected": DISCONNECTED,
    "smtp-4xx": TEMPORARY,
    "smtp-5xx": RECIPIENT_REFUSED,
    "encoding": N_(
        "The message could not be encoded for this server (a non-ASCII address needs a "
        "server that offers SMTPUTF8)."
    ),
}

# Transport failures are not recorded as attempts, only as the reason on the message
# (transport._describe words them): recognise them by their opening words.
_BY_REASON = (
    ("connection refused", "refused"),
    ("timed out", "timeout"),
    ("host name not found", "dns"),
    ("certificate not trusted", "certificate"),
    ("tls failed", "tls"),
    ("authentication refused", "auth"),
    ("server closed the connection", "disconnected"),
)


def for_delivery_error(error_class: str | None, reason: str | None, settings, sender="") -> str:
    """The hint for a delivery failure: a known provider reply or token failure first, then
    its class, or else its reason's words."""
    known = _known(reason or "")
    if known:
        return render(known, settings, sender)
    template = _BY_ERROR_CLASS.get(error_class or "")
    if template is None and reason:
        template = _from_reason(reason.lower())
    if template is None:
        return ""
    return render(template, settings, sender)


def _known(reason: str) -> str | None:
    if reason.lower().startswith("gave up after"):
        reason = reason.partition(": ")[2]
    from_token = token_hints.for_reason(reason)
    if from_token:
        return from_token
    # "authentication refused: 535 5.7.139 ..." and "550 5.7.30 ... (at MAIL FROM)" alike.
    digits = reason.partition(": ")[2][:3] if reason[:3].isalpha() else reason[:3]
    code = int(digits) if digits.isdigit() else None
    known = provider_replies.recognise(code, reason, xoauth2="xoauth2" in reason.lower())
    return known.hint if known else None


def _from_reason(reason: str) -> str | None:
    if reason.startswith("gave up after"):
        reason = reason.partition(": ")[2]
    for opening, name in _BY_REASON:
        if reason.startswith(opening):
            return _BY_ERROR_CLASS[name]
    code = reason[:3]
    if not code.isdigit():
        return None
    if code.startswith("4"):
        return TEMPORARY
    if "(at mail from)" in reason:
        return SENDER_REFUSED
    return RECIPIENT_REFUSED if "(at rcpt to)" in reason else None
