"""The effective mail settings as an admin reads them: secrets masked, modes in words."""

from __future__ import annotations

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
        ("Server (MAIL_SERVER)", s.server),
        ("Port (MAIL_PORT)", str(s.port)),
        ("Security (MAIL_USE_TLS / MAIL_USE_SSL)", _security(s)),
        ("Certificate verification (MAIL_TLS_VERIFY)", "on" if s.tls_verify else "OFF"),
        ("CA file (MAIL_CA_FILE)", s.ca_file or "the system's trusted CAs"),
        ("Username (MAIL_USERNAME)", s.username or "not set"),
        ("Password (MAIL_PASSWORD)", "set" if s.password else "not set"),
        ("Sender (MAIL_DEFAULT_SENDER)", config.get("MAIL_DEFAULT_SENDER") or "not set"),
        (
            "Allowlist (MAIL_ALLOWLIST)",
            ", ".join(allowlist) if allowlist else "none: every address is mailed",
        ),
        ("Sender threads here (MAIL_SENDER_THREADS)", str(config.get("MAIL_SENDER_THREADS"))),
        ("Timeout per SMTP step (MAIL_TIMEOUT)", f"{s.timeout:g} s"),
        *oauth2_summary_rows(config),
        *fallback_summary_rows(config),
        ("Relay in use", _relay_in_use(config)),
    ]


def _relay_in_use(config) -> str:
    """The primary, or the fallback since when and why (as the senders last recorded it)."""
    now = relay_state.in_use(config)
    if now.role == relay_state.PRIMARY:
        return f"{now.relay} (the primary)"
    since = f"{now.since:%Y-%m-%d %H:%M} UTC" if now.since else "a while"
    return f"{now.relay}, the fallback, since {since}: the primary failed ({now.reason})"


def _security(settings: SmtpSettings) -> str:
    mode = security_mode(settings)
    if mode == "none":
        return "none: mail and any password travel in clear"
    return mode
