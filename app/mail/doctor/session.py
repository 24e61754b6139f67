"""The doctor's SMTP session: one connection, step by step, that sends nothing.

resolve -> connect -> TLS -> EHLO -> (token) -> AUTH -> MAIL FROM -> RCPT TO -> RSET -> QUIT,
with the same settings and verified TLS context as the senders. RCPT TO is always tried
(the address given, or the sender's own): some relays refuse the sender only there.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time

from babel.numbers import format_decimal
from flask_babel import gettext as _

from app import i18n
from app.mail import hints, provider_replies
from app.mail.doctor.probes import greets_in_clear, speaks_tls
from app.mail.doctor.report import (
    Diagnosis,
    Step,
    StepFailed,
    StepSkipped,
    decode,
    describe,
    security_mode,
    timed_out,
)
from app.mail.doctor.sign_in import SignInSteps
from app.mail.oauth2 import TokenSource
from app.mail.tls_info import certificate_hint, describe_tls
from app.mail.transport import SmtpSettings, helo_name, tls_context


class _Probe(smtplib.SMTP):
    """smtplib's client on a socket the doctor opened itself (and maybe wrapped in TLS)."""

    def __init__(self, sock: socket.socket, timeout: float):
        self._ready_socket = sock
        super().__init__(local_hostname=helo_name(), timeout=timeout)

    def _get_socket(self, host, port, timeout):
        self._host = host  # starttls() checks the certificate against it
        return self._ready_socket


class SmtpDiagnosis(SignInSteps):
    """`run()` walks the steps against `settings` and returns the Diagnosis. With `tokens`
    (MAIL_AUTH=xoauth2) it gets a token first and signs in with XOAUTH2."""

    def __init__(
        self,
        settings: SmtpSettings,
        envelope_from: str,
        rcpt: str | None = None,
        tokens: TokenSource | None = None,
    ):
        self.settings, self.envelope_from = settings, envelope_from
        self.rcpt_given = bool(rcpt)
        self.rcpt = rcpt or envelope_from
        self.tokens, self.xoauth2 = tokens, tokens is not None
        self.steps: list[Step] = []
        self.sock: socket.socket | None = None
        self.smtp: _Probe | None = None

    def run(self) -> Diagnosis:
        try:
            self._all_steps()
        except StepFailed:
            pass  # the failed step is recorded; the ones after it cannot run
        finally:
            self._close()
        return Diagnosis(self.settings.relay, security_mode(self.settings), self.steps)

    def _all_steps(self) -> None:
        s = self.settings
        self._step("resolve", _("Resolve %(server)s", server=s.server), self._resolve)
        self._step("connect", _("Connect to port %(port)s", port=s.port), self._connect)
        if s.use_ssl:
            self._step("tls", _("TLS handshake (implicit TLS)"), self._implicit_tls)
        self._step("greeting", _("Server greeting"), self._greeting)
        self._step("ehlo", "EHLO", self._ehlo)
        if s.use_tls:
            self._step("tls", _("STARTTLS and TLS handshake"), self._starttls)
            self._step("ehlo", _("EHLO inside TLS"), self._ehlo)
        if self.xoauth2:
            self._step("token", _("OAuth2 access token"), self._token)
        self._step("auth", "AUTH XOAUTH2" if self.xoauth2 else "AUTH", self._auth)
        self._step("mail_from", f"MAIL FROM:<{self.envelope_from}>", self._mail_from)
        if self.rcpt:
            mine = "" if self.rcpt_given else " " + _("(the sender's own address)")
            self._step("rcpt_to", f"RCPT TO:<{self.rcpt}>{mine}", self._rcpt_to)
        self._step("rset", _("RSET (nothing is sent)"), self._rset)
        self._step("quit", "QUIT", self._quit)

    def _step(self, key: str, title: str, action) -> None:
        """Run `action() -> (reply, details)` as one timed step; a failure ends the check."""
        step = Step(key, title)
        self.steps.append(step)
        started = time.monotonic()
        try:
            step.reply, step.details = action()
        except StepSkipped as skipped:
            step.skipped, step.details = True, [str(skipped)]
        except StepFailed as failure:
            step.ok, step.hint = False, failure.hint
            step.reply, step.details = failure.reply, failure.details
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            step.ok, step.reply = False, describe(exc)
            step.hint = self._hint(_unexpected_failure_hint(exc))
        finally:
            step.duration_ms = round((time.monotonic() - started) * 1000, 1)
            step.reply = self._scrub(step.reply)
            step.details = [self._scrub(line) for line in step.details]
            step.hint = self._scrub(step.hint)
        if not step.ok:
            raise StepFailed(step.hint)

    # -- the steps: each returns (server reply, detail lines) or raises StepFailed --

    def _resolve(self):
        s = self.settings
        try:
            infos = socket.getaddrinfo(s.server, s.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise StepFailed(self._hint(hints.HOST_NOT_FOUND), str(exc)) from exc
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        return "", [
            _("%(server)s is %(addresses)s", server=s.server, addresses=", ".join(addresses))
        ]

    def _connect(self):
        s = self.settings
        try:
            self.sock = socket.create_connection((s.server, s.port), timeout=s.timeout)
        except ConnectionRefusedError as exc:
            raise StepFailed(self._hint(hints.NOTHING_LISTENING), "connection refused") from exc
        except TimeoutError as exc:
            reply = f"no answer within {s.timeout:g} s"
            raise StepFailed(self._hint(hints.TIMEOUT), reply) from exc
        except OSError as exc:
            raise StepFailed(self._hint(hints.NOTHING_LISTENING), describe(exc)) from exc
        host, port = self.sock.getpeername()[:2]
        return "", [_("TCP connection open to %(host)s port %(port)s", host=host, port=port)]

    def _implicit_tls(self):
        s = self.settings
        try:
            self.sock = tls_context(s).wrap_socket(self.sock, server_hostname=s.server)
        except ssl.SSLCertVerificationError as exc:
            raise StepFailed(self._hint(certificate_hint(exc)), describe(exc)) from exc
        except (ssl.SSLError, OSError) as exc:
            template = hints.SPEAKS_PLAIN if greets_in_clear(self.settings) else hints.TLS_FAILED
            if timed_out(exc) and template is hints.TLS_FAILED:
                template = hints.TIMEOUT
            raise StepFailed(self._hint(template), describe(exc)) from exc
        return "", describe_tls(self.sock, s)

    def _greeting(self):
        s = self.settings
        self.smtp = _Probe(self.sock, s.timeout)
        try:
            code, text = self.smtp.connect(s.server, s.port)
        except smtplib.SMTPConnectError as exc:
            raise StepFailed(self._hint(hints.UNEXPECTED_REPLY), describe(exc)) from exc
        except smtplib.SMTPServerDisconnected as exc:
            if not s.use_ssl and speaks_tls(self.settings):
                template = hints.EXPECTS_IMPLICIT_TLS
            else:
                template = hints.TIMEOUT if timed_out(exc) else hints.DISCONNECTED
            reply = f"nothing within {s.timeout:g} s" if timed_out(exc) else describe(exc)
            raise StepFailed(self._hint(template), reply) from exc
        return f"{code} {decode(text)}", []

    def _ehlo(self):
        code, text = self.smtp.ehlo()
        if code != 250:
            raise StepFailed(self._hint(hints.UNEXPECTED_REPLY), f"{code} {decode(text)}")
        return f"{code} {decode(text).splitlines()[0]}", self._extensions()

    def _extensions(self) -> list[str]:
        smtp, s = self.smtp, self.settings
        size = smtp.esmtp_features.get("size", "").strip()
        offered, not_offered = _("offered"), _("not offered")
        lines = [
            "STARTTLS: " + (offered if smtp.has_extn("starttls") else not_offered),
            "AUTH: " + (smtp.esmtp_features.get("auth", "").strip() or not_offered),
            "SIZE: "
            + (
                _(
                    "%(bytes)s bytes (%(mib)s MiB)",
                    bytes=format_decimal(int(size), locale=i18n.current()),
                    mib=format(int(size) / 2**20, ".0f"),
                )
                if size.isdigit()
                else _("not stated")
            ),
            "SMTPUTF8: " + (offered if smtp.has_extn("smtputf8") else not_offered),
        ]
        if smtp.has_extn("starttls") and not (s.use_tls or s.use_ssl):
            lines.append(
                _("Note: the server offers STARTTLS but MAIL_USE_TLS is off, so mail goes in clear")
            )
        return lines

    def _starttls(self):
        s = self.settings
        if not self.smtp.has_extn("starttls"):
            raise StepFailed(self._hint(hints.NO_STARTTLS), "STARTTLS is not offered")
        try:
            code, text = self.smtp.starttls(context=tls_context(s))
        except ssl.SSLCertVerificationError as exc:
            raise StepFailed(self._hint(certificate_hint(exc)), describe(exc)) from exc
        except ssl.SSLError as exc:
            raise StepFailed(self._hint(hints.TLS_FAILED), describe(exc)) from exc
        if code != 220:
            raise StepFailed(self._hint(hints.UNEXPECTED_REPLY), f"{code} {decode(text)}")
        return f"{code} {decode(text)}", describe_tls(self.smtp.sock, s)

    def _mail_from(self):
        if not self.envelope_from:
            raise StepFailed(
                _("MAIL_DEFAULT_SENDER is not set: set it to the address mail is from.")
            )
        options = []
        if not (self.envelope_from + (self.rcpt or "")).isascii():
            # A non-ASCII address goes only to a server that offers SMTPUTF8, as the senders do.
            if not self.smtp.has_extn("smtputf8"):
                raise StepFailed(self._hint(hints.NO_SMTPUTF8), "SMTPUTF8 is not offered")
            options = ["SMTPUTF8"]
        return self._answer(self.smtp.mail(self.envelope_from, options), (250,), "mail_from")

    def _rcpt_to(self):
        return self._answer(self.smtp.rcpt(self.rcpt), (250, 251), "rcpt_to")

    def _rset(self):
        return self._answer(self.smtp.rset(), (250,), "rset")

    def _quit(self):
        code, text = self.smtp.quit()
        self.smtp = None
        return f"{code} {decode(text)}", []

    def _answer(self, answer, accepted, key):
        code, text = answer
        reply = f"{code} {decode(text)}"
        if code in accepted:
            return reply, []
        known = provider_replies.recognise(code, decode(text), xoauth2=self.xoauth2)
        if (
            known is None
            and code >= 500
            and provider_replies.refuses_sender(code, decode(text), self.envelope_from)
        ):
            known = provider_replies.KnownReply(hints.SENDER_REFUSED, about_sender=True)
        if known is not None:
            codes = provider_replies.codes_of(code, decode(text))
            raise StepFailed(self._hint(known.hint, code=codes), reply)
        raise StepFailed(self._hint(hints.for_reply(code, key, decode(text))), reply)

    # -- helpers --

    def _hint(self, template: str, **extra) -> str:
        return hints.render(template, self.settings, self.envelope_from, **extra)

    def _scrub(self, text: str) -> str:
        # Belt and braces: no reply, detail or hint may ever carry a secret or the token.
        for secret in self._secrets():
            text = text.replace(secret, "[secret]") if text else text
        return text

    def _secrets(self) -> list[str]:
        found = [self.settings.password] if self.settings.password else []
        if self.tokens is not None:
            found += self.tokens.settings.secrets
        if self.token is not None:
            found.append(self.token.value)
        return found

    def _close(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
        elif self.sock is not None:
            self.sock.close()


def _unexpected_failure_hint(exc: BaseException) -> str:
    if isinstance(exc, UnicodeError):
        return hints.NO_SMTPUTF8
    return hints.TIMEOUT if timed_out(exc) else hints.DISCONNECTED
