"""The mail pipeline: compose -> outbox -> sender threads -> SMTP.

Views and account code call `send_email` only; it composes the message now and
adds it to the caller's transaction, so it is sent if and only if that commits.
"""

from __future__ import annotations

from datetime import datetime

from app.mail import outbox
from app.mail.compose import compose, link_to
from app.mail.outbox import Enqueued

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
    language: str | None = None,
    **context,
) -> Enqueued:
    """Queue `template` for `to` in the current transaction; the caller commits.

    With `suppress` (why it must not go out: a cap reached, say), or to an address on the
    suppression list, the message is recorded as suppressed with the reason, so an admin
    sees what was not sent and why; no live link is kept. A `sensitive` message (live links)
    loses its body in the statement that marks it sent. The email is written in `language`
    (app.i18n.for_recipient), or the current page's.
    """
    mail = compose(to, template, extra_headers=extra_headers, language=language, **context)
    return outbox.enqueue(
        mail, not_after=not_after, priority=priority, sensitive=sensitive, suppress=suppress
    )
