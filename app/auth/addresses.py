"""Email addresses as users type them, turned into the one canonical form we store and mail.

email-validator does the parsing (never `parseaddr`, whose answers differ between Python
versions); anything that is not exactly one bare address is refused before it can reach a header.
"""

from __future__ import annotations

from flask_babel import gettext as _

# RFC 5321 caps a path at 256 octets including the angle brackets.
MAX_ADDRESS_LENGTH = 254


class InvalidAddress(ValueError):
    """The input is not one bare, deliverable-looking address; the message is for the user
    (in the language of the page, if there is one)."""


def normalise_email(raw: str | None) -> str:
    """The canonical form: local part as typed, IDN domain encoded, all lower-cased."""
    # Imported here: email-validator compiles its patterns on import, a cost a process that
    # never reads a typed address (a `flask mail worker`) need not pay at start.
    from email_validator import EmailNotValidError, validate_email

    text = (raw or "").strip()
    if not text:
        raise InvalidAddress(_("Enter your email address."))
    if any(c in text for c in "\r\n\0"):
        raise InvalidAddress(_("Enter one email address on a single line."))
    if len(text) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(_("That email address is too long."))
    # "=?" opens an RFC 2047 encoded word, which some mail clients decode even inside an
    # address: legal, never seen in a real mailbox, and a way to smuggle text into a header.
    if any(c in text for c in ",;<>") or text.count("@") != 1 or "=?" in text:
        raise InvalidAddress(_("Enter one email address, like name@example.com, with no name."))
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidAddress(_("Enter a valid email address, like name@example.com.")) from None
    # The ASCII (IDNA) domain: one stored form, and mail to it needs no SMTPUTF8 for the domain.
    return f"{info.local_part}@{info.ascii_domain}".lower()


def address_key(raw: str | None) -> str:
    """A stable key for a posted address, valid or not (for per-address rate limits)."""
    try:
        return normalise_email(raw)
    except InvalidAddress:
        return " ".join((raw or "").split()).lower()[:MAX_ADDRESS_LENGTH]
