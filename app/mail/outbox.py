"""The durable outbox: enqueue in the caller's transaction, requeue, and count.

The row, not the thread, is the truth: a message is `queued` until a sender
claims it (`sending`, with a lease that runs out if the sender dies: claims.py), and
it leaves `sending` only as sent, failed or expired, or back to queued.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from app import clock
from app.extensions import db
from app.mail import events, suppression
from app.mail.compose import ComposedMail
from app.mail.db_clock import utc_now
from app.mail.models import EXPIRED, FAILED, QUEUED, SENDING, STATUSES, SUPPRESSED, OutboxMessage

if TYPE_CHECKING:
    from app.mail.claims import Claimed


@dataclass(frozen=True)
class Enqueued:
    """What `enqueue` wrote. A record, not the live row: senders change the row; read it
    again (`db.session.get(OutboxMessage, queued.id)`) to see its state later."""

    id: int
    message_id: str
    recipient: str
    template: str
    status: str
    last_error: str | None
    mime: bytes | None
    smtputf8: bool


def enqueue(
    mail: ComposedMail,
    *,
    not_after: datetime | None = None,
    priority: int = 0,
    sensitive: bool = False,
    suppress: str | None = None,
) -> Enqueued:
    """Add the message to the current transaction; it exists only if the caller commits.
    A `sensitive` message (live account links) loses its body once sent. With `suppress`
    (the caller's reason) or an address on the suppression list it is recorded, not sent."""
    values = {
        "message_id": mail.message_id,
        "template": mail.template,
        "sender": mail.sender,
        "recipient": mail.recipient,
        # The whole subject is in `mime`; the column is for lists, and a long one (user
        # values in it) must not make PostgreSQL refuse the caller's whole transaction.
        "subject": mail.subject[: OutboxMessage.subject.type.length],
        "mime": mail.mime,
        "smtputf8": mail.smtputf8,
        "priority": priority,
        "status": QUEUED,
        "attempts": 0,
        "not_after": not_after,
        "sensitive": sensitive,
        "last_error": None,
        "created_at": clock.utcnow(),
    }
    reason = suppress or local_suppression_reason(mail.recipient)
    if reason:
        values["status"], values["last_error"] = SUPPRESSED, reason
        if suppress or sensitive:
            # Never sent, so its live links need not be kept (an admin sees why, not what).
            values["mime"] = None
    row = _insert(values)
    events.note_enqueued(db.session, row)
    return row


# Every request that sends mail runs this, so it is one Core statement on the session's
# connection (the caller's transaction), with no ORM object to build and track (0.4 ms of
# CPU less per request than the unit of work, on SQLite). The suppression list is asked in
# the same statement, not in a round trip of its own.
# Due now by the database's clock, which claims compare it with: by this host's, a host whose
# clock is ahead would hold its mail back by the difference.
_table = OutboxMessage.__table__
_INSERT = (
    _table.insert()
    .values(
        next_attempt_at=utc_now(),
        status=func.coalesce(suppression.listed(SUPPRESSED), bindparam("status")),
    )
    .returning(_table.c.id, _table.c.status)
)


def _insert(values: dict) -> Enqueued:
    """Write the row now (it exists only if the caller commits)."""
    params = {**values, "listed_address": suppression.canonical(values["recipient"])}
    row_id, status = db.session.connection().execute(_INSERT, params).one()
    if status != values["status"]:
        # On the suppression list (rare, so its reason costs a statement only then).
        values = _listed(row_id, values)
    return Enqueued(row_id, *(values[name] for name in _RECORDED))


# Enqueued's fields after the id, in order.
_RECORDED = [field.name for field in fields(Enqueued)][1:]


def _listed(row_id: int, values: dict) -> dict:
    reason = suppression.reason_for(values["recipient"])
    values = {**values, "status": SUPPRESSED, "last_error": reason}
    if values["sensitive"]:
        values["mime"] = None
    db.session.connection().execute(
        update(_table)
        .where(_table.c.id == row_id)
        .values(last_error=values["last_error"], mime=values["mime"])
    )
    return values


def local_suppression_reason(recipient: str) -> str | None:
    """Why this address must not be mailed by this process's settings (MAIL_SUPPRESS_SEND,
    the staging allowlist), or None. The suppression list is asked by the INSERT itself."""
    # Flask-Mail's own switch (MAIL_SUPPRESS_SEND, on by default when TESTING), decided in init_app.
    if current_app.extensions["mail"].suppress:
        return "MAIL_SUPPRESS_SEND is on: recorded, not sent"
    allowlist = current_app.config.get("MAIL_ALLOWLIST") or []
    if not allowlist:
        return None
    address = recipient.lower()
    domain = "@" + address.rpartition("@")[2]
    if address in allowlist or domain in allowlist:
        return None
    return "not on MAIL_ALLOWLIST: recorded, not sent"


def verdict_before_send(row: Claimed, now: datetime, give_up: timedelta) -> tuple[str, str] | None:
    """(status, reason) if the message must not be sent any more, else None."""
    if row.not_after and now > row.not_after:
        return EXPIRED, "not sent: its link expired before it could be delivered"
    if now - row.created_at > give_up:
        return FAILED, f"gave up: still undelivered after {give_up}"
    if row.mime is None:
        return FAILED, "the message body was purged before it was sent"
    return None


def requeue(row: OutboxMessage, *, priority: int | None = None) -> bool:
    """Send a failed or expired message again (admin retry). Not committed here."""
    if row.status not in (FAILED, EXPIRED) or row.mime is None:
        return False
    row.status, row.next_attempt_at = QUEUED, utc_now()
    row.not_after = None
    # A retry is a new round: MAIL_MAX_ATTEMPTS and MAIL_GIVE_UP_AFTER count from now, or a
    # message that gave up after an outage would give up again at once. The attempt log
    # keeps the earlier rounds.
    row.attempts, row.created_at = 0, clock.utcnow()
    if priority is not None:
        row.priority = priority
    events.note_enqueued(db.session, row, requeued=True)
    return True


def counts() -> dict[str, int]:
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    found = dict(rows)
    return {status: found.get(status, 0) for status in STATUSES}


def oldest_queued_age() -> float | None:
    """Seconds since the oldest message still waiting was enqueued, or None."""
    oldest = db.session.scalar(
        select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_((QUEUED, SENDING))
        )
    )
    return (clock.utcnow() - oldest).total_seconds() if oldest else None
