"""The SMTP transport: Flask-Mail's connection with what 0.10 lacks, and failure classes.

Flask-Mail opens `smtplib.SMTP` with no timeout and starts TLS with no
certificate check. Here every step has `MAIL_TIMEOUT`, TLS is verified against
the system CAs or `MAIL_CA_FILE`, one connection is kept across messages, and
every failure becomes one of three kinds:

- `retry`: a 4xx reply or a dropped connection while sending one message;
- `failed`: a 5xx for this message or recipient, or a message that cannot be encoded;
- `transport`: the link itself (refused, timeout, TLS, certificate, AUTH, sender refused).
  It is nobody's message's fault, so it spends no message's attempts.
"""

from __future__ import annotations

import select
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from functools import cache

import flask_mail
from flask import current_app

from app.mail.compose import wire_address

RETRY, FAILED, TRANSPORT = "retry", "failed", "transport"


@dataclass
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


class DeliveryError(Exception):
    """A classified failure: `kind` says what the outbox does with the message."""

    def __init__(self, kind: str, reason: str, code: int | None = None, error_class: str = ""):
        super().__init__(reason)
        self.kind, self.reason, self.code = kind, reason, code
        self.error_class = error_class or kind


@dataclass(frozen=True)
class SmtpSettings:
    server: str
    port: int
    use_tls: bool
    use_ssl: bool
    username: str | None
    password: str | None = field(repr=False)
    timeout: float
    tls_verify: bool
    ca_file: str | None
    max_emails: int | None

    @classmethod
    def from_config(cls, config) -> SmtpSettings:
        return cls(
            server=config.get("MAIL_SERVER") or "localhost",
            port=int(config.get("MAIL_PORT") or 25),
            use_tls=bool(config.get("MAIL_USE_TLS")),
            use_ssl=bool(config.get("MAIL_USE_SSL")),
            username=config.get("MAIL_USERNAME"),
            password=config.get("MAIL_PASSWORD"),
            timeout=float(config.get("MAIL_TIMEOUT") or 30),
            tls_verify=config.get("MAIL_TLS_VERIFY", True),
            ca_file=config.get("MAIL_CA_FILE"),
            max_emails=config.get("MAIL_MAX_EMAILS"),
        )

    @property
    def relay(self) -> str:
        return f"{self.server}:{self.port}"


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    """Verified by default; unverified only when MAIL_TLS_VERIFY=false says so."""
    context = ssl.create_default_context(cafile=settings.ca_file or None)
    if not settings.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@cache
def helo_name() -> str:
    # smtplib calls getfqdn() on every connection, which can stall on DNS: ask once.
    return socket.getfqdn()


class _Connection(flask_mail.Connection):
    """Flask-Mail's connection, opened with a timeout and a verifying TLS context."""

    def __init__(self, settings: SmtpSettings):
        super().__init__(current_app.extensions["mail"])
        self.settings = settings
        self._context: ssl.SSLContext | None = None

    def tls(self) -> ssl.SSLContext:
        # Loading the system CAs costs ~30 ms of CPU: once per sender, not per connection,
        # and never for a server without TLS.
        if self._context is None:
            self._context = tls_context(self.settings)
        return self._context

    def configure_host(self) -> smtplib.SMTP:
        s = self.settings
        if s.use_ssl:
            host = smtplib.SMTP_SSL(
                s.server, s.port, local_hostname=helo_name(), timeout=s.timeout, context=self.tls()
            )
        else:
            host = smtplib.SMTP(s.server, s.port, local_hostname=helo_name(), timeout=s.timeout)
        try:
            # Never set_debuglevel: smtplib would print the AUTH line, password included.
            if s.use_tls:
                host.starttls(context=self.tls())
            if s.username and s.password:
                host.login(s.username, s.password)
        except BaseException:
            host.close()
            raise
        return host


class SmtpTransport:
    """One SMTP connection kept open across messages; reconnects every MAIL_MAX_EMAILS."""

    def __init__(self, settings: SmtpSettings | None = None):
        self.settings = settings or SmtpSettings.from_config(current_app.config)
        self._connection = _Connection(self.settings)
        self._host: smtplib.SMTP | None = None
        self._sent_on_connection = 0

    @property
    def connected(self) -> bool:
        return self._host is not None

    def connect(self) -> None:
        if self._host is None:
            try:
                self._host = self._connection.configure_host()
            except Exception as exc:  # noqa: BLE001 - every connect failure is classified
                raise classify_connect_error(exc) from exc
            self._sent_on_connection = 0

    def send(self, envelope_from: str, recipient: str, mime: bytes, smtputf8: bool) -> Reply:
        """Deliver one message; raises DeliveryError with its kind on any failure."""
        max_emails = self.settings.max_emails
        if max_emails and self._sent_on_connection >= max_emails:
            self.close()
        self._drop_if_hung_up()
        self.connect()
        try:
            reply = self._transaction(envelope_from, recipient, mime, smtputf8)
        except DeliveryError:
            self._reset()
            raise
        except Exception as exc:  # noqa: BLE001 - a dropped link mid-message: classified
            self._drop()
            raise classify_send_error(exc) from exc
        self._sent_on_connection += 1
        return reply

    def drop_if_stale(self) -> None:
        """A kept-open connection the server has since closed must not cost an attempt."""
        if self._host is None:
            return
        try:
            self._host.noop()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop_if_hung_up(self) -> None:
        """A server that closed the kept-open connection (an idle timeout) left it readable:
        end of file, or a parting 421. Seeing that costs one select(), no round trip, and
        spares the next message an attempt and a retry delay."""
        sock = self._host.sock if self._host is not None else None
        if sock is not None and select.select([sock], [], [], 0)[0]:
            self._drop()

    def close(self) -> None:
        host, self._host = self._host, None
        if host is not None:
            try:
                host.quit()
            except (smtplib.SMTPException, OSError):
                host.close()

    def _transaction(self, envelope_from, recipient, mime, smtputf8) -> Reply:
        host = self._host
        host.ehlo_or_helo_if_needed()
        options = []
        if smtputf8:
            if not host.has_extn("smtputf8"):
                raise DeliveryError(
                    FAILED,
                    "the address is not ASCII and the server does not offer SMTPUTF8",
                    error_class="encoding",
                )
            options.append("SMTPUTF8")
        code, text = host.mail(envelope_from, options)
        if code != 250:
            raise _reply_error(code, text, "MAIL FROM", sender=True)
        code, text = host.rcpt(wire_address(recipient))
        if code not in (250, 251):
            raise _reply_error(code, text, "RCPT TO")
        code, text = host.data(mime)
        if code != 250:
            raise _reply_error(code, text, "DATA")
        return Reply(code, _text(text))

    def _reset(self) -> None:
        """After a refused transaction the connection is still good: RSET, or drop it."""
        if self._host is None:
            return
        try:
            self._host.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        host, self._host = self._host, None
        if host is not None:
            host.close()


def _text(raw) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _reply_error(code: int, raw, step: str, sender: bool = False) -> DeliveryError:
    text = f"{code} {_text(raw)} (at {step})"
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
        return _reply_error(exc.smtp_code, exc.smtp_error, "reply")
    _, reason = _describe(exc)
    return DeliveryError(RETRY, f"connection lost while sending: {reason}", None, "disconnected")


def _describe(exc: BaseException) -> tuple[str, str]:
    """A short class name and a plain-words reason (never the password)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "certificate", f"certificate not trusted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return "tls", f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "auth", f"authentication refused: {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "not-supported", str(exc)
    if isinstance(exc, smtplib.SMTPResponseException):
        return "smtp-reply", f"{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timeout", "timed out waiting for the SMTP server"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused: nothing is listening there"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "disconnected", f"server closed the connection: {exc}"
    if isinstance(exc, socket.gaierror):
        return "dns", f"host name not found: {exc}"
    return type(exc).__name__, str(exc) or type(exc).__name__
