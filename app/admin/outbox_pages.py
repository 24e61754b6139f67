"""What the outbox pages show: a filtered, paginated list, and one message taken apart
(headers, text, HTML, attempts) with its delivery outcome in words."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.mail import hints
from app.mail.models import (
    EXPIRED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    SUPPRESSED,
    OutboxMessage,
)
from app.mail.transport import SmtpSettings

PER_PAGE = 50
# While a message waits the page reloads itself: quickly at first, when a person is
# watching a test email land, then gently.
FAST_REFRESH_S, SLOW_REFRESH_S, FAST_FOR = 1, 5, timedelta(minutes=2)


def find_messages(status: str | None, address: str | None, page: int):
    """Newest first; `address` matches any part of the recipient, case-insensitively."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status:
        query = query.where(OutboxMessage.status == status)
    if address:
        # The pattern is escaped: a "%" or "_" typed in the filter means itself.
        pattern = "%" + _escape_like(address.strip().lower()) + "%"
        query = query.where(OutboxMessage.recipient.ilike(pattern, escape="\\"))
    return db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class MessageParts:
    headers: list[tuple[str, str]] = field(default_factory=list)
    text: str | None = None
    html: str | None = None


def message_parts(mime: bytes | None) -> MessageParts:
    """The stored bytes taken apart; empty once the body has been purged."""
    if mime is None:
        return MessageParts()
    message = email.message_from_bytes(mime, policy=email.policy.default)
    parts = MessageParts(headers=[(name, str(value)) for name, value in message.items()])
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    parts.text = text.get_content() if text is not None else None
    parts.html = html.get_content() if html is not None else None
    return parts


@dataclass
class Outcome:
    state: str  # ok, failed, waiting
    headline: str
    hint: str = ""
    refresh_s: int | None = None


def delivery_outcome(row: OutboxMessage, senders_alive: bool) -> Outcome:
    """Where this message stands, in one line, with a hint when something is wrong."""
    if row.status == SENT:
        return Outcome("ok", f"delivered to {row.relay} — {row.smtp_reply}")
    if row.status in (FAILED, EXPIRED):
        return Outcome("failed", f"{row.status}: {row.last_error}", _hint(row))
    if row.status == SUPPRESSED:
        return Outcome("failed", f"suppressed, not sent: {row.last_error}")
    refresh = _refresh_interval(row)
    if row.status == SENDING:
        return Outcome("waiting", "being delivered now…", refresh_s=refresh)
    if not senders_alive:
        return Outcome(
            "waiting",
            "queued, but no sender is running",
            "Start the senders: `flask mail worker`, or MAIL_SENDER_THREADS above 0 in the "
            "web processes. The message waits in the outbox until then.",
            refresh,
        )
    if row.last_error:
        headline = f"not delivered yet: {row.last_error}; trying again"
        return Outcome("waiting", headline, _hint(row), refresh)
    return Outcome("waiting", "queued: waiting for a sender to pick it up", refresh_s=refresh)


def _hint(row: OutboxMessage) -> str:
    last = row.attempt_log[-1] if row.attempt_log else None
    error_class = last.error_class if last is not None else None
    if row.status == QUEUED and last is not None and last.smtp_reply != row.last_error:
        # A transport failure since then left no attempt, only its reason on the message.
        error_class = None
    settings = SmtpSettings.from_config(current_app.config)
    sender = parseaddr(row.sender)[1]
    return hints.for_delivery_error(error_class, row.last_error, settings, sender)


def _refresh_interval(row: OutboxMessage) -> int:
    return FAST_REFRESH_S if clock.utcnow() - row.created_at < FAST_FOR else SLOW_REFRESH_S
