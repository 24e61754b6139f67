"""Choosing the relay: the primary (MAIL_SERVER), or the fallback (MAIL_FALLBACK_SERVER) while
the primary has a transport failure.

A message's own answer from the primary (a 4xx to retry, a 5xx for its recipient) is
final: only a failure of the link itself (refused, timeout, TLS, sign-in) moves sending to
the fallback. The primary is probed again with backoff, with the next message, and used
again once it takes one. Each switch is recorded (relay_state.py) for the admin pages and
/healthz: which relay is in use, since when, and why.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from flask_babel import gettext as _

from app import clock
from app.mail import relay_state
from app.mail.smtp_failures import TRANSPORT, DeliveryError
from app.mail.transport import SmtpSettings, SmtpTransport

log = logging.getLogger("mailroom.mail")


def fallback_settings(config) -> SmtpSettings | None:
    """The fallback relay's settings, or None when MAIL_FALLBACK_SERVER is not set. It
    shares MAIL_TIMEOUT, MAIL_TLS_VERIFY and MAIL_CA_FILE with the primary."""
    server = config.get("MAIL_FALLBACK_SERVER")
    if not server:
        return None
    use_ssl = bool(config.get("MAIL_FALLBACK_USE_SSL"))
    return SmtpSettings(
        server=server,
        port=int(config.get("MAIL_FALLBACK_PORT") or (465 if use_ssl else 25)),
        use_tls=bool(config.get("MAIL_FALLBACK_USE_TLS")),
        use_ssl=use_ssl,
        username=config.get("MAIL_FALLBACK_USERNAME"),
        password=config.get("MAIL_FALLBACK_PASSWORD"),
        timeout=float(config.get("MAIL_TIMEOUT") or 30),
        tls_verify=config.get("MAIL_TLS_VERIFY", True),
        ca_file=config.get("MAIL_CA_FILE"),
        max_emails=config.get("MAIL_MAX_EMAILS"),
    )


def transport_for(config) -> SmtpTransport | FailoverTransport:
    """What a sender sends through: the primary alone, or with its fallback."""
    fallback = fallback_settings(config)
    if fallback is None:
        return SmtpTransport()
    return FailoverTransport(
        SmtpTransport(),
        SmtpTransport(fallback, use_xoauth2=False),
        config["MAIL_TRANSPORT_BACKOFF_MAX"],
    )


class FailoverTransport:
    """SmtpTransport's interface over two relays; `used_relay` is the one the last send used."""

    def __init__(self, primary: SmtpTransport, fallback: SmtpTransport, backoff_max: float):
        self.primary, self.fallback = primary, fallback
        self.current = primary
        self.backoff_max = backoff_max
        self.failed_probes = 0
        self.next_probe = 0.0
        self.fallback_since: datetime | None = None
        self.used_relay = primary.settings.relay

    @property
    def settings(self) -> SmtpSettings:
        return self.current.settings

    @property
    def connected(self) -> bool:
        return self.current.connected

    def drop_if_stale(self) -> None:
        self.current.drop_if_stale()

    def close(self) -> None:
        self.primary.close()
        self.fallback.close()

    def send(self, *args, **kwargs):
        if self.current is self.primary or time.monotonic() >= self.next_probe:
            try:
                reply = self.primary.send(*args, **kwargs)
            except DeliveryError as error:
                if error.kind != TRANSPORT:
                    self._primary_answered()
                    raise  # the message's own answer: final, not one for the fallback
                self._primary_failed(error)
            else:
                self._primary_answered()
                return reply
        self.used_relay = self.fallback.settings.relay
        return self.fallback.send(*args, **kwargs)

    def _primary_answered(self) -> None:
        self.used_relay = self.primary.settings.relay
        if self.current is self.fallback:
            log.warning("mail relay %s answers again: back from the fallback", self.used_relay)
            self.fallback.close()
            self.current, self.failed_probes = self.primary, 0
            self.fallback_since = None
            relay_state.record(self.primary.settings.relay, self.primary.settings.relay, None, None)

    def _primary_failed(self, error: DeliveryError) -> None:
        self.failed_probes += 1
        wait = min(self.backoff_max, 2 ** (self.failed_probes - 1))
        self.next_probe = time.monotonic() + wait
        if self.current is self.primary:
            self.fallback_since = clock.utcnow()
            log.warning(
                "mail relay %s failed (%s): sending through the fallback %s",
                self.primary.settings.relay,
                error.reason,
                self.fallback.settings.relay,
            )
        self.primary.close()
        self.current = self.fallback
        relays = self.primary.settings.relay, self.fallback.settings.relay
        relay_state.record(*relays, error.reason, self.fallback_since)


def summary_rows(config) -> list[tuple[str, str]]:
    """(label, value) rows for the admin settings table: the password only "set"."""
    s = fallback_settings(config)
    relay_label = _("Fallback relay (%(setting)s)", setting="MAIL_FALLBACK_SERVER")
    if s is None:
        return [(relay_label, _("none"))]
    security = _("implicit TLS") if s.use_ssl else "STARTTLS" if s.use_tls else _("none")
    password = _("set") if s.password else _("not set")
    login = (
        _("%(user)s, password %(password)s", user=s.username, password=password)
        if s.username
        else _("none")
    )
    return [
        (relay_label, _("%(relay)s, security %(security)s", relay=s.relay, security=security)),
        (_("Fallback login (%(setting)s)", setting="MAIL_FALLBACK_USERNAME"), login),
    ]
