"""The effective mail settings as an admin reads them: secrets masked, modes in words."""

from __future__ import annotations

from flask_babel import gettext as _

from app.mail import relay_state
from app.mail.diagnostics import security_mode
from app.mail.oauth2.settings import summary_rows as oauth2_summary_rows
from app.mail.relays import summary_rows as fallback_summary_rows
from app.mail.transport import SmtpSettings


def settings_rows(config) -> list[tuple[str, str]]:
    """(label, value) pairs for the settings table. The password is only "set" or "not set"."""
    s = SmtpSettings.from_config(config)
    allowlist = config.get("MAIL_ALLOWLIST") or []
    return [
        (_("Server (%(setting)s)", setting="MAIL_SERVER"), s.server),
        (_("Port (%(setting)s)", setting="MAIL_PORT"), str(s.port)),
        (_("Security (%(setting)s)", setting="MAIL_USE_TLS / MAIL_USE_SSL"), _security(s)),
        (
            _("Certificate verification (%(setting)s)", setting="MAIL_TLS_VERIFY"),
            _("on") if s.tls_verify else _("OFF"),
        ),
        (
            _("CA file (%(setting)s)", setting="MAIL_CA_FILE"),
            s.ca_file or _("the system's trusted CAs"),
        ),
        (_("Username (%(setting)s)", setting="MAIL_USERNAME"), s.username or _("not set")),
        (
            _("Password (%(setting)s)", setting="MAIL_PASSWORD"),
            _("set") if s.password else _("not set"),
        ),
        (
            _("Sender (%(setting)s)", setting="MAIL_DEFAULT_SENDER"),
            config.get("MAIL_DEFAULT_SENDER") or _("not set"),
        ),
        (
            _("Allowlist (%(setting)s)", setting="MAIL_ALLOWLIST"),
            ", ".join(allowlist) if allowlist else _("none: every address is mailed"),
        ),
        (
            _("Sender threads here (%(setting)s)", setting="MAIL_SENDER_THREADS"),
            str(config.get("MAIL_SENDER_THREADS")),
        ),
        (
            _("Timeout per SMTP step (%(setting)s)", setting="MAIL_TIMEOUT"),
            _("%(seconds)s s", seconds=format(s.timeout, "g")),
        ),
        *oauth2_summary_rows(config),
        *fallback_summary_rows(config),
        (_("Relay in use"), _relay_in_use(config)),
    ]


def _relay_in_use(config) -> str:
    """The primary, or the fallback since when and why (as the senders last recorded it)."""
    now = relay_state.in_use(config)
    if now.role == relay_state.PRIMARY:
        return _("%(relay)s (the primary)", relay=now.relay)
    if now.since is None:
        return _(
            "%(relay)s, the fallback, for a while: the primary failed (%(reason)s)",
            relay=now.relay,
            reason=now.reason,
        )
    return _(
        "%(relay)s, the fallback, since %(since)s: the primary failed (%(reason)s)",
        relay=now.relay,
        since=now.since.strftime("%Y-%m-%d %H:%M UTC"),
        reason=now.reason,
    )


def _security(settings: SmtpSettings) -> str:
    mode = security_mode(settings)
    if mode == "none":
        return _("none: mail and any password travel in clear")
    # security_mode() is logged in English: only its words on the page change.
    return _("implicit TLS") if mode == "implicit TLS" else mode
