"""The mail pipeline: compose -> outbox -> sender threads -> SMTP.

Views and account code call `send_email` only; it composes the message now and
adds it to the caller's transaction, so it is sent if and only if that commits.
"""

from __future__ import annotations

from datetime import datetime

from app.mail import outbox
from app.mail.compose import compose, link_to
from app.mail.events import log, mask
from app.mail.models import SUPPRESSED, OutboxMessage

__all__ = ["link_to", "send_email"]


def send_email(
    to: str,
    template: str,
    *,
    not_after: datetime | None = None,
    priority: int = 0,
    suppress: str | None = None,
    sensitive: bool = False,
    extra_headers: dict[str, str] | None = None,
    **context,
) -> OutboxMessage:
    """Queue `template` for `to` in the current transaction; the caller commits.

    With `suppress` (why it must not go out: a cap reached, say) the message is recorded
    as suppressed with that reason and without its body, so an admin sees what was not
    sent and why, and no live link is kept. A `sensitive` message (live account links)
    loses its body in the statement that marks it sent.
    """
    mail = compose(to, template, extra_headers=extra_headers, **context)
    row = outbox.enqueue(mail, not_after=not_after, priority=priority, sensitive=sensitive)
    if suppress:
        row.status, row.last_error, row.mime = SUPPRESSED, suppress, None
        log.info("mail suppressed to=%s template=%s (%s)", mask(to), template, suppress)
    return row
