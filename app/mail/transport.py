"""The SMTP transport: Flask-Mail's connection with what 0.10 lacks.

Flask-Mail opens `smtplib.SMTP` with no timeout and starts TLS with no
certificate check. Here every step has `MAIL_TIMEOUT`, TLS is verified against
the system CAs or `MAIL_CA_FILE`, one connection is kept across messages, and
every failure becomes one of three kinds (retry, failed, transport: smtp_failures.py).

A sender can pass `before_command` to `send`: it runs before every SMTP command of that
send (and before connecting), to renew the claim, and may raise `Withdrawn` to stop it.
"""

from __future__ import annotations

import select
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import flask_mail
from flask import current_app

from app.mail import events
from app.mail.compose import wire_address
from app.mail.provider_replies import refuses_sender
from app.mail.sign_in import sign_in
from app.mail.smtp_failures import (
    FAILED,
    RETRY,
    TRANSPORT,
    DeliveryError,
    Withdrawn,
    classify_connect_error,
    classify_send_error,
    reply_error,
    server_text,
)

__all__ = ["FAILED", "RETRY", "TRANSPORT", "DeliveryError", "Reply", "SmtpTransport", "Withdrawn"]


@dataclass
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


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


class _CommandHook:
    """smtplib with a call before every command it sends (EHLO, AUTH, MAIL, RCPT, DATA...)."""

    before_command: Callable[[], None] | None = None

    def putcmd(self, cmd, args=""):
        if self.before_command is not None:
            self.before_command()
        super().putcmd(cmd, args)


class _SMTP(_CommandHook, smtplib.SMTP):
    pass


class _SMTP_SSL(_CommandHook, smtplib.SMTP_SSL):  # noqa: N801 - smtplib's own name
    pass


class _Connection(flask_mail.Connection):
    """Flask-Mail's connection, opened with a timeout and a verifying TLS context."""

    def __init__(
        self, settings: SmtpSettings, before_command: Callable[[], None], use_xoauth2: bool
    ):
        super().__init__(current_app.extensions["mail"])
        self.settings = settings
        self.before_command = before_command
        self.use_xoauth2 = use_xoauth2
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
            host = _SMTP_SSL(
                s.server, s.port, local_hostname=helo_name(), timeout=s.timeout, context=self.tls()
            )
        else:
            host = _SMTP(s.server, s.port, local_hostname=helo_name(), timeout=s.timeout)
        host.before_command = self.before_command
        try:
            # Never set_debuglevel: smtplib would print the AUTH line, password included.
            if s.use_tls:
                host.starttls(context=self.tls())
            # A password or an OAuth2 token, at most one failed try per backoff step
            # across the deployment (sign_in.py).
            sign_in(host, s, self.use_xoauth2)
        except BaseException:
            host.close()
            raise
        return host


class SmtpTransport:
    """One SMTP connection kept open across messages; reconnects every MAIL_MAX_EMAILS."""

    def __init__(self, settings: SmtpSettings | None = None, use_xoauth2: bool | None = None):
        self.settings = settings or SmtpSettings.from_config(current_app.config)
        if use_xoauth2 is None:  # MAIL_AUTH is the primary relay's way of signing in
            use_xoauth2 = current_app.config.get("MAIL_AUTH") == "xoauth2"
        self._connection = _Connection(self.settings, self._before_command, use_xoauth2)
        self._host: smtplib.SMTP | None = None
        self._sent_on_connection = 0
        # The hook of the send in progress; none outside send(), so NOOP, RSET and QUIT
        # never run it.
        self._hook: Callable[[], None] | None = None

    @property
    def connected(self) -> bool:
        return self._host is not None

    def connect(self) -> None:
        if self._host is None:
            self._before_command()
            try:
                self._host = self._connection.configure_host()
            except Withdrawn:
                raise
            except Exception as exc:  # noqa: BLE001 - every connect failure is classified
                events.notify("smtp_connect", relay=self.settings.relay, outcome="failed")
                raise classify_connect_error(exc) from exc
            events.notify("smtp_connect", relay=self.settings.relay, outcome="connected")
            self._sent_on_connection = 0

    def send(
        self,
        envelope_from: str,
        recipient: str,
        mime: bytes,
        smtputf8: bool,
        before_command: Callable[[], None] | None = None,
        before_data: Callable[[], None] | None = None,
    ) -> Reply:
        """Deliver one message; raises DeliveryError with its kind on any failure, or
        Withdrawn when `before_command` withdrew it (nothing was delivered then).
        `before_data` runs once, after RCPT TO and before DATA (and may withdraw too)."""
        max_emails = self.settings.max_emails
        if max_emails and self._sent_on_connection >= max_emails:
            self.close()
        self._drop_if_hung_up()
        self._hook = before_command
        try:
            self.connect()
            reply = self._transaction(envelope_from, recipient, mime, smtputf8, before_data)
        except Withdrawn:
            # Mid-transaction, and RSET would run the hook again: start afresh next time.
            self._hook = None
            self._drop()
            raise
        except DeliveryError:
            self._hook = None
            self._reset()
            raise
        except Exception as exc:  # noqa: BLE001 - a dropped link mid-message: classified
            self._drop()
            raise classify_send_error(exc) from exc
        finally:
            self._hook = None
        self._sent_on_connection += 1
        return reply

    def _before_command(self) -> None:
        if self._hook is not None:
            self._hook()

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
        end of file, or a parting 421. Seeing that costs one poll(), no round trip, and
        spares the next message an attempt and a retry delay."""
        sock = self._host.sock if self._host is not None else None
        if sock is not None and _readable(sock):
            self._drop()

    def close(self) -> None:
        host, self._host = self._host, None
        if host is not None:
            try:
                host.quit()
            except (smtplib.SMTPException, OSError):
                host.close()

    def _transaction(self, envelope_from, recipient, mime, smtputf8, before_data=None) -> Reply:
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
            raise reply_error(code, text, "MAIL FROM", sender=True)
        code, text = host.rcpt(wire_address(recipient))
        if code not in (250, 251):
            # Some relays refuse the sender only here (Postfix's sender login maps,
            # Microsoft's SendAsDenied): every message would get it, so it is a setting.
            about_sender = refuses_sender(code, server_text(text), envelope_from)
            raise reply_error(code, text, "RCPT TO", sender=about_sender)
        if before_data is not None:
            before_data()
        code, text = host.data(mime)
        if code != 250:
            raise reply_error(code, text, "DATA")
        return Reply(code, server_text(text))

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


def _readable(sock: socket.socket) -> bool:
    # poll(), not select(): select() refuses descriptors past 1,023 (ValueError), and a
    # gunicorn gthread worker can hold a thousand keep-alive sockets. A poll object holds
    # no descriptor of its own, unlike an epoll selector: cheap to make per message.
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
