"""The replies people actually meet from Microsoft 365, Google and Postfix, each with a hint.

A reply is known by its enhanced status code (RFC 3463, `5.7.139`) or its words
(`SendAsDenied`, `Sender address rejected`). `refuses_sender` tells a refusal about the
sender or the client (a setting: every message would get it) from one about a recipient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark only"
    """Marks a hint for translation: hints.render() translates it when it is shown."""
    return message


_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")

BASIC_AUTH_OFF = N_(
    "Microsoft 365 refuses passwords here (550 5.7.30: Basic authentication is off for SMTP "
    "AUTH, which Microsoft switches off for every tenant from the end of December 2026). "
    "Switch to OAuth2: set MAIL_AUTH=xoauth2 with MAIL_OAUTH2_TENANT, MAIL_OAUTH2_CLIENT_ID "
    "and MAIL_OAUTH2_CLIENT_SECRET of an Entra app that has SMTP.SendAsApp and access to "
    "the mailbox {username} (docs/providers.md, Microsoft 365)."
)
SMTP_AUTH_DISABLED = N_(
    "SMTP AUTH is disabled for this tenant or mailbox (535 5.7.139). An Exchange Online "
    "admin must enable it for the mailbox: Set-CASMailbox -Identity {username} "
    "-SmtpClientAuthenticationDisabled $false (or for the tenant: Set-TransportConfig "
    "-SmtpClientAuthenticationDisabled $false). With Security Defaults on, passwords stay "
    "refused: use MAIL_AUTH=xoauth2 instead."
)
APP_SPECIFIC_LOGIN = N_(
    "Google refuses the account's password here (534 5.7.9: Application-specific password "
    "required). Set MAIL_PASSWORD to an app password (the account needs 2-Step "
    "Verification), or switch to MAIL_AUTH=xoauth2 with a refresh token for scope "
    "https://mail.google.com/ (docs/providers.md, Google)."
)
WRONG_CREDENTIALS = N_(
    "The server refused the login (535 5.7.8: wrong user name or password). Check "
    "MAIL_USERNAME (usually the full address) and MAIL_PASSWORD. Gmail and Microsoft 365 "
    "refuse the normal account password here: Google wants an app password, and "
    "Microsoft 365 wants MAIL_AUTH=xoauth2 (docs/providers.md)."
)
BEARER_REFUSED = N_(
    "The server refused the OAuth2 token for {username} ({code}). The token must be for "
    "this mailbox: MAIL_USERNAME is the mailbox address; Google needs a refresh token of "
    "that account with scope https://mail.google.com/; Microsoft 365 needs the app granted "
    "SMTP.SendAsApp (admin consent) and the mailbox (Add-MailboxPermission, see "
    "docs/providers.md)."
)
NOT_AUTHENTICATED = N_(
    "The server takes mail only from a signed-in client (530 5.7.57): AUTH was missing, or "
    "was tried before STARTTLS. Set MAIL_USE_TLS=true (port 587) and sign in: "
    "MAIL_USERNAME with MAIL_PASSWORD, or MAIL_AUTH=xoauth2."
)
SEND_AS_DENIED = N_(
    "The mailbox {username} may not send as MAIL_DEFAULT_SENDER ({sender}) ({code}). Set "
    "MAIL_DEFAULT_SENDER to the mailbox's own address, or have an Exchange admin grant it: "
    "Add-RecipientPermission -Identity {sender} -Trustee {username} -AccessRights SendAs. "
    "Until then every message would be refused: they stay queued."
)
SENDER_REJECTED = N_(
    "The login {username} may not send as MAIL_DEFAULT_SENDER ({sender}): the relay lets a "
    "login send only as the addresses it owns. Set MAIL_DEFAULT_SENDER to one of them, or "
    "allow this one for the login at the relay (Postfix: smtpd_sender_login_maps). Until "
    "then every message would be refused: they stay queued."
)
RELAY_DENIED = N_(
    "The server does not relay for this client (550 5.7.1 relay denied): it takes mail for "
    "other domains only from a signed-in client. Set MAIL_USERNAME and MAIL_PASSWORD (or "
    "MAIL_AUTH=xoauth2), and check that MAIL_SERVER is the provider's submission host."
)


@dataclass(frozen=True)
class KnownReply:
    hint: str
    # True when the refusal is about the sender or the client, not the recipient.
    about_sender: bool = False


def enhanced_code(text: str) -> str | None:
    match = _ENHANCED.search(text or "")
    return ".".join(match.groups()) if match else None


def codes_of(code: int, text: str) -> str:
    """`554 5.2.252`: the reply code and its enhanced code, as a hint quotes them."""
    enhanced = enhanced_code(text)
    return f"{code} {enhanced}" if enhanced else str(code)


def recognise(code: int | None, text: str, xoauth2: bool = False) -> KnownReply | None:
    """The known reply this is, or None. `xoauth2`: the login was a token, not a password."""
    enhanced, words = enhanced_code(text), (text or "").lower()
    if enhanced == "5.7.30" or "basic authentication is not supported" in words:
        return KnownReply(BASIC_AUTH_OFF)
    if enhanced == "5.7.139":
        return KnownReply(SMTP_AUTH_DISABLED)
    if enhanced == "5.7.9" or "application-specific password" in words:
        return KnownReply(APP_SPECIFIC_LOGIN)
    if enhanced == "5.7.57":
        return KnownReply(NOT_AUTHENTICATED, about_sender=True)
    if enhanced in ("5.2.252", "5.7.60") or "sendasdenied" in words:
        return KnownReply(SEND_AS_DENIED, about_sender=True)
    if "sender address rejected" in words or "not owned by user" in words:
        return KnownReply(SENDER_REJECTED, about_sender=True)
    if enhanced == "5.7.1" and "relay" in words:
        return KnownReply(RELAY_DENIED, about_sender=True)
    if code == 535 and xoauth2:
        return KnownReply(BEARER_REFUSED)
    if code == 535 and (enhanced == "5.7.8" or "password" in words):
        return KnownReply(WRONG_CREDENTIALS)
    return None


def refuses_sender(code: int | None, text: str, sender: str = "") -> bool:
    """A refusal every message would meet: about the sender or the client, not one recipient.
    Known by its code or words, or because it names the envelope sender."""
    if code is None or code < 500:
        return False
    known = recognise(code, text)
    if known is not None and known.about_sender:
        return True
    return bool(sender) and sender.lower() in (text or "").lower()
