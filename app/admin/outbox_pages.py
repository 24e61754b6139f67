"""What the outbox pages show: a filtered list paged by id (so a million rows cost what a
hundred do), and one message taken apart (headers, text, HTML, attempts) with its delivery
outcome in words."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from datetime import timedelta
from email.header import decode_header, make_header
from email.utils import parseaddr

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from app import clock
from app.admin.forms import STATUS_LABELS
from app.admin.masking import carries_codes, mask_secrets
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
# A search for part of an address cannot use an index: each page looks through at most this
# many ids, newest first, and offers to look further, so it costs the same at any table size
# (about 5 ms of SQL). A whole address is looked up in the recipient index instead.
SEARCH_WINDOW = 5_000
WHOLE_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Ids are PostgreSQL integers: a larger id or cursor cannot exist (and would not fit).
MAX_ID = 2**31 - 1
# While a message waits the page reloads itself: quickly at first, when a person is
# watching a test email land, then gently.
FAST_REFRESH_S, SLOW_REFRESH_S, FAST_FOR = 1, 5, timedelta(minutes=2)


@dataclass
class OutboxPage:
    """One page of the list, newest first, and the cursors of its neighbours (None: none)."""

    rows: list[OutboxMessage]
    newer_after: int | None = None
    older_before: int | None = None
    # For a search that found less than a page while more is left to look through: the ids
    # it looked through.
    searched: tuple[int, int] | None = None


def cursor(value: int | None) -> int | None:
    """A `before`/`after` id from the query string; one past any real id reads as none."""
    if value is None or value > MAX_ID:
        return None
    return max(value, 0)


def find_messages(
    status: str | None, address: str | None, before: int | None = None, after: int | None = None
) -> OutboxPage:
    """Newest first, `PER_PAGE` at a time: before/after an id (keyset, so a far page costs
    what the first does). A whole `address` is found anywhere (the recipient index); part
    of one matches case-insensitively, SEARCH_WINDOW ids at a time."""
    # The list never shows a body: leave the largest column behind.
    query = select(OutboxMessage).options(defer(OutboxMessage.mime))
    if status:
        query = query.where(OutboxMessage.status == status)
    address = (address or "").strip()
    window = None
    if WHOLE_ADDRESS.fullmatch(address):
        # Stored addresses are normalised to lower case; one typed as stored matches too.
        query = query.where(OutboxMessage.recipient.in_({address, address.lower()}))
    elif address:
        # The pattern is escaped: a "%" or "_" typed in the filter means itself.
        pattern = "%" + _escape_like(address.lower()) + "%"
        query = query.where(OutboxMessage.recipient.ilike(pattern, escape="\\"))
        window = SEARCH_WINDOW
    if after is not None:
        return _newer_than(query, after, window)
    return _older_than(query, before, window)


def _older_than(query, before: int | None, window: int | None) -> OutboxPage:
    top = before if before is not None else _newest_id() + 1
    if window:
        query = query.where(OutboxMessage.id >= top - window)
    query = query.where(OutboxMessage.id < top).order_by(OutboxMessage.id.desc())
    rows, more = _fetch(query)
    page = OutboxPage(rows)
    if before is not None:
        page.newer_after = rows[0].id if rows else top - 1
    if more:
        page.older_before = rows[-1].id
    elif window and top - window > _oldest_id():
        # Less than a page in this window, and older messages left to look through.
        page.searched = (top - window, top - 1)
        page.older_before = top - window
    return page


def _newer_than(query, after: int, window: int | None) -> OutboxPage:
    if window:
        query = query.where(OutboxMessage.id <= after + window)
    query = query.where(OutboxMessage.id > after).order_by(OutboxMessage.id)
    rows, more = _fetch(query)
    rows.reverse()
    page = OutboxPage(rows, older_before=rows[-1].id if rows else after + 1)
    if more:
        page.newer_after = rows[0].id
    elif window and after + window < _newest_id():
        page.searched = (after + 1, after + window)
        page.newer_after = after + window
    return page


def _fetch(query) -> tuple[list[OutboxMessage], bool]:
    """A page of rows, and whether more follow (one extra row says so, no count)."""
    rows = list(db.session.scalars(query.limit(PER_PAGE + 1)))
    return rows[:PER_PAGE], len(rows) > PER_PAGE


def _newest_id() -> int:
    return db.session.scalar(select(func.max(OutboxMessage.id))) or 0


def _oldest_id() -> int:
    return db.session.scalar(select(func.min(OutboxMessage.id))) or 0


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class MessageParts:
    headers: list[tuple[str, str]] = field(default_factory=list)
    text: str | None = None
    html: str | None = None


def message_parts(row: OutboxMessage) -> MessageParts:
    """The stored bytes taken apart, live links and codes masked; empty once the body has
    been dropped or purged."""
    if row.mime is None:
        return MessageParts()
    codes = carries_codes(row.template)
    # The compat32 parser reads headers as stored: a sixth of the time of the modern
    # policy's header objects (about 1 ms a message instead of 7), and this page is read often.
    message = email.message_from_bytes(row.mime)
    parts = MessageParts(
        headers=[
            (name, mask_secrets(_readable(value), codes=codes)) for name, value in message.items()
        ]
    )
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/plain" and parts.text is None:
            parts.text = mask_secrets(_decoded(part), codes=codes)
        elif kind == "text/html" and parts.html is None:
            parts.html = mask_secrets(_decoded(part), codes=codes)
    return parts


def _readable(value: str) -> str:
    """A header as a person reads it: encoded words decoded, folding undone."""
    return " ".join(str(make_header(decode_header(value))).split())


def _decoded(part) -> str:
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8", "replace")


@dataclass
class Outcome:
    state: str  # ok, failed, waiting
    headline: str
    hint: str = ""
    refresh_s: int | None = None


def delivery_outcome(row: OutboxMessage, senders_alive: bool) -> Outcome:
    """Where this message stands, in one line, with a hint when something is wrong."""
    if row.status == SENT:
        return Outcome(
            "ok", _("delivered to %(relay)s — %(reply)s", relay=row.relay, reply=row.smtp_reply)
        )
    if row.status in (FAILED, EXPIRED):
        status = STATUS_LABELS[row.status]
        headline = _("%(status)s: %(error)s", status=status, error=row.last_error)
        return Outcome("failed", headline, _hint(row))
    if row.status == SUPPRESSED:
        return Outcome("failed", _("suppressed, not sent: %(error)s", error=row.last_error))
    refresh = _refresh_interval(row)
    if row.status == SENDING:
        return Outcome("waiting", _("being delivered now…"), refresh_s=refresh)
    if not senders_alive:
        return Outcome(
            "waiting",
            _("queued, but no sender is running"),
            _(
                "Start the senders: %(command)s, or %(setting)s above 0 in the web processes. "
                "The message waits in the outbox until then.",
                command="`flask mail worker`",
                setting="MAIL_SENDER_THREADS",
            ),
            refresh,
        )
    if row.last_error:
        headline = _("not delivered yet: %(error)s; trying again", error=row.last_error)
        return Outcome("waiting", headline, _hint(row), refresh)
    return Outcome("waiting", _("queued: waiting for a sender to pick it up"), refresh_s=refresh)


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
