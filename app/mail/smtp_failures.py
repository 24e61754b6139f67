"""SMTP failures in three kinds, and a server's words made safe to store.

- `retry`: a 4xx reply or a dropped connection while sending one message;
- `failed`: a 5xx for this message or recipient, or a message that cannot be encoded;
- `transport`: the link itself (refused, timeout, TLS, certificate, AUTH, sender refused).
  It is nobody's message's fault, so it spends no message's attempts.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl

from app.mail.sign_in import SignInProblem

RETRY, FAILED, TRANSPORT = "retry", "failed", "transport"
# A server's words are stored (replies, errors): RFC 5321 lines are at most 512 octets and
# a multi-line reply a few of them; anything longer is noise, or an attack on the database.
MAX_STORED_CHARS = 2000
# PostgreSQL refuses NUL in text, and every control character is at best noise on a page.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def storable(text: str) -> str:
    """A server's text made safe to store and show: no control characters, bounded."""
    if len(text) > MAX_STORED_CHARS:
        text = text[:MAX_STORED_CHARS] + " [cut]"
    return _CONTROL.sub("", text)


class DeliveryError(Exception):
    """A classified failure: `kind` says what the outbox does with the message."""

    def __init__(self, kind: str, reason: str, code: int | None = None, error_class: str = ""):
        reason = storable(reason)
        super().__init__(reason)
        self.kind, self.reason, self.code = kind, reason, code
        self.error_class = error_class or kind


class Withdrawn(Exception):  # noqa: N818 - it names what happened to the message
    """Raised by a `before_command` hook: the message is no longer the sender's to send."""


def server_text(raw) -> str:
    return storable(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))


def reply_error(code: int, raw, step: str, sender: bool = False) -> DeliveryError:
    text = f"{code} {server_text(raw)} (at {step})"
    if 400 <= code < 500:
        return DeliveryError(RETRY, text, code, "smtp-4xx")
    if sender:
        # The server will not take mail from this sender at all: a setting, not a message.
        return DeliveryError(TRANSPORT, text, code, "sender-refused")
    return DeliveryError(FAILED, text, code, "smtp-5xx")


def classify_connect_error(exc: BaseException) -> DeliveryError:
    """Anything that stops a connection being opened is a transport failure."""
    name, reason = _describe(exc)
    code = getattr(exc, "smtp_code", None)
    return DeliveryError(TRANSPORT, reason, code, name)


def classify_send_error(exc: BaseException) -> DeliveryError:
    """A failure while one message was in hand."""
    if isinstance(exc, UnicodeError):
        return DeliveryError(FAILED, f"cannot encode the message: {exc}", None, "encoding")
    if isinstance(exc, smtplib.SMTPResponseException):
        return reply_error(exc.smtp_code, exc.smtp_error, "reply")
    _, reason = _describe(exc)
    return DeliveryError(RETRY, f"connection lost while sending: {reason}", None, "disconnected")


def _describe(exc: BaseException) -> tuple[str, str]:
    """A short class name and a plain-words reason (never the password)."""
    if isinstance(exc, SignInProblem):
        return exc.error_class, exc.reason
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "certificate", f"certificate not trusted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return "tls", f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "auth", f"authentication refused: {exc.smtp_code} {server_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "not-supported", str(exc)
    if isinstance(exc, smtplib.SMTPResponseException):
        return "smtp-reply", f"{exc.smtp_code} {server_text(exc.smtp_error)}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timeout", "timed out waiting for the SMTP server"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused: nothing is listening there"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "disconnected", f"server closed the connection: {exc}"
    if isinstance(exc, socket.gaierror):
        return "dns", f"host name not found: {exc}"
    return type(exc).__name__, str(exc) or type(exc).__name__
