"""The mail pipeline: compose -> outbox -> sender threads -> SMTP.

Views and account code call `send_email` only; it composes the message now and
adds it to the caller's transaction, so it is sent if and only if that commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from app import clock
from app.mail import outbox
from app.mail.compose import compose, link_to
from app.mail.events import log, mask
from app.mail.models import OutboxMessage

__all__ = ["link_to", "send_email"]


def send_email(
    to: str,
    template: str,
    *,
    not_after: datetime | None = None,
    priority: int = 0,
    capped: bool = False,
    extra_headers: dict[str, str] | None = None,
    **context,
) -> OutboxMessage | None:
    """Queue `template` for `to` in the current transaction; the caller commits.

    `capped` mail (anything a stranger's form can trigger) stops at
    MAIL_ACCOUNT_MAILS_PER_HOUR per address, so no form can flood a mailbox;
    then None is returned and nothing is queued.
    """
    if capped and _over_hourly_cap(to):
        log.info("mail capped to=%s template=%s (hourly limit reached)", mask(to), template)
        return None
    mail = compose(to, template, extra_headers=extra_headers, **context)
    return outbox.enqueue(mail, not_after=not_after, priority=priority)


def _over_hourly_cap(to: str) -> bool:
    since = clock.utcnow() - timedelta(hours=1)
    return outbox.recent_count(to, since) >= current_app.config["MAIL_ACCOUNT_MAILS_PER_HOUR"]
