"""The connection doctor: checks the SMTP settings step by step, sends nothing, and says in
plain words which setting to change. `flask mail check` and POST /admin/mail/check use it."""

from __future__ import annotations

import logging
import re
from email.utils import parseaddr

from app.mail.doctor.report import Diagnosis, Step, security_mode
from app.mail.doctor.session import SmtpDiagnosis
from app.mail.events import mask
from app.mail.oauth2 import OAuth2Settings, TokenSource
from app.mail.transport import SmtpSettings

__all__ = ["Diagnosis", "SmtpDiagnosis", "Step", "diagnose", "security_mode"]

log = logging.getLogger("mailroom.mail")


def diagnose(config, rcpt: str | None = None) -> Diagnosis:
    """Check the configured SMTP server with the configured sender and `rcpt` (default: the
    sender's own address). With MAIL_AUTH=xoauth2 a fresh token is asked for first."""
    settings = SmtpSettings.from_config(config)
    envelope_from = parseaddr(config.get("MAIL_DEFAULT_SENDER") or "")[1]
    tokens = None
    if (config.get("MAIL_AUTH") or "password") == "xoauth2":
        # Its own TokenSource, not the senders' cache: the check is that a token comes now.
        tokens = TokenSource(OAuth2Settings.from_config(config))
    diagnosis = SmtpDiagnosis(settings, envelope_from, rcpt or None, tokens).run()
    _log_outcome(diagnosis, rcpt)
    return diagnosis


def _log_outcome(diagnosis: Diagnosis, rcpt: str | None) -> None:
    failed = diagnosis.failed_step
    if failed is None:
        log.info("mail check %s (%s): every step ok", diagnosis.relay, diagnosis.security)
        return
    reply = failed.reply
    if rcpt:
        # A refusal often quotes the address asked about: mask it, as every mail log line does.
        reply = re.sub(re.escape(rcpt), mask(rcpt), reply, flags=re.IGNORECASE)
    log.warning(
        "mail check %s (%s): failed at %s: %s",
        diagnosis.relay,
        diagnosis.security,
        failed.key,
        reply,
    )
