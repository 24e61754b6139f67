"""What the connection doctor reports: its steps, each ok or failed with a reply and a hint,
and the few helpers that word an exception for a person."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field

from app.mail.transport import SmtpSettings


@dataclass
class Step:
    key: str
    title: str
    ok: bool = True
    # Not tried at all (AUTH without credentials): still ok, but shown as skipped, not passed.
    skipped: bool = False
    # Milliseconds to a tenth: on loopback most steps take well under one.
    duration_ms: float = 0.0
    reply: str = ""
    details: list[str] = field(default_factory=list)
    hint: str = ""


@dataclass
class Diagnosis:
    relay: str
    security: str
    steps: list[Step]

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def failed_step(self) -> Step | None:
        return next((step for step in self.steps if not step.ok), None)


class StepSkipped(Exception):  # noqa: N818 - an outcome, like StopIteration
    """The step does not apply to these settings; the message says why."""


class StepFailed(Exception):
    """The outcome of a step is a failure, with the server's reply and a worded hint."""

    def __init__(self, hint: str, reply: str = "", details: list[str] | None = None):
        super().__init__(hint)
        self.hint, self.reply, self.details = hint, reply, details or []


def security_mode(settings: SmtpSettings) -> str:
    if settings.use_ssl:
        return "implicit TLS"
    return "STARTTLS" if settings.use_tls else "none"


def describe(exc: BaseException) -> str:
    """The exception in a few words: the server's reply, or the class and its message."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {decode(exc.smtp_error)}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def decode(raw) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def timed_out(exc: BaseException | None) -> bool:
    """smtplib rewraps a socket timeout as 'Connection unexpectedly closed': look inside."""
    while exc is not None:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
