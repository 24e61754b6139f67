"""The durable outbox: enqueue in the caller's transaction, claim with a lease, mark outcomes.

The row, not the thread, is the truth: a message is `queued` until a sender
claims it (`sending`, with a lease that runs out if the sender dies), and it
leaves `sending` only as sent, failed or expired, or back to queued.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from flask import current_app
from sqlalchemy import and_, bindparam, func, insert, select, update

from app import clock
from app.extensions import db
from app.mail import events
from app.mail.compose import ComposedMail
from app.mail.models import (
    EXPIRED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    STATUSES,
    SUPPRESSED,
    DeliveryAttempt,
    OutboxMessage,
)
from app.mail.transport import RETRY, DeliveryError


def enqueue(
    mail: ComposedMail, *, not_after: datetime | None = None, priority: int = 0
) -> OutboxMessage:
    """Add the message to the current transaction; it exists only if the caller commits."""
    row = OutboxMessage(
        message_id=mail.message_id,
        template=mail.template,
        sender=mail.sender,
        recipient=mail.recipient,
        # The whole subject is in `mime`; the column is for lists, and a long one (user
        # values in it) must not make PostgreSQL refuse the caller's whole transaction.
        subject=mail.subject[: OutboxMessage.subject.type.length],
        mime=mail.mime,
        smtputf8=mail.smtputf8,
        priority=priority,
        status=QUEUED,
        attempts=0,
        next_attempt_at=clock.utcnow(),
        not_after=not_after,
    )
    reason = suppression_reason(mail.recipient)
    if reason:
        row.status, row.last_error = SUPPRESSED, reason
    db.session.add(row)
    events.note_enqueued(db.session, row)
    return row


def suppression_reason(recipient: str) -> str | None:
    """Why this address must not be mailed here (suppression, staging allowlist), or None."""
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


def recent_count(recipient: str, since: datetime) -> int:
    """How many emails this address was sent (or will be) since `since`."""
    query = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.recipient == recipient,
        OutboxMessage.created_at >= since,
        OutboxMessage.status != SUPPRESSED,
    )
    return db.session.scalar(query) or 0


class Claimed(NamedTuple):
    """What a sender needs of a claimed message, read once for the whole claim."""

    id: int
    message_id: str
    template: str
    sender: str
    recipient: str
    mime: bytes | None
    smtputf8: bool
    not_after: datetime | None
    created_at: datetime


# Table columns, not ORM attributes: a Core statement skips the ORM's compile and row
# machinery, a sixth of a sender's CPU during a drain (py-spy on bench/drain_throughput.py).
_OUTBOX = OutboxMessage.__table__
_CLAIMED_COLUMNS = [_OUTBOX.c[name] for name in Claimed._fields]


def claim_due(owner: str, limit: int, lease: timedelta) -> list[Claimed]:
    """Atomically take up to `limit` messages, first any whose sender's lease ran out, then
    queued ones that are due, highest priority and oldest first; in id order, read by the
    claim itself: the hot path of a drain then reads nothing more per message."""
    now = clock.utcnow()
    params = {"now": now, "owner": owner, "lease_until": now + lease}
    lapsed, due = _claim_statements(db.engine.dialect.name)
    claimed = _claim(lapsed, params, limit)
    if len(claimed) < limit:
        claimed += _claim(due, params, limit - len(claimed))
    db.session.commit()
    return sorted(claimed)


def _claim(statement, params: dict, limit: int) -> list[Claimed]:
    return [Claimed(*row) for row in db.session.execute(statement, {**params, "limit": limit})]


@cache
def _claim_statements(dialect_name: str):
    """Built once: constructing these statements cost more CPU than running them (about a
    millisecond a claim, cProfile); the values go in as parameters."""
    column = _OUTBOX.c
    lapsed = and_(column.status == SENDING, column.lease_until < bindparam("now"))
    # Two queries, not one with an OR: this one reads ix_mail_outbox_queue in order and
    # stops after `limit` rows, however long the backlog (EXPLAIN on both databases).
    due = and_(column.status == QUEUED, column.next_attempt_at <= bindparam("now"))
    order = [column.priority.desc(), column.next_attempt_at]
    return (
        _claim_statement(lapsed, [column.id], dialect_name),
        _claim_statement(due, order, dialect_name),
    )


def _claim_statement(where, order, dialect_name: str):
    pick = select(_OUTBOX.c.id).where(where).order_by(*order).limit(bindparam("limit"))
    if dialect_name == "postgresql":
        # Other senders skip what this one holds instead of queueing behind it.
        pick = pick.with_for_update(skip_locked=True)
    # On SQLite the first UPDATE opens BEGIN IMMEDIATE (see db.py): claims are serialised.
    return (
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(pick.scalar_subquery()))
        .values(
            status=SENDING, lease_owner=bindparam("owner"), lease_until=bindparam("lease_until")
        )
        .returning(*_CLAIMED_COLUMNS)
    )


def extend_lease(ids: list[int], owner: str, lease: timedelta) -> set[int]:
    """Renew the lease on `ids`; returns those still ours (a lease that ran out may have
    been taken by another sender, whose message it now is)."""
    held = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.lease_owner == owner)
        .values(lease_until=clock.utcnow() + lease)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    held = set(held)
    db.session.commit()
    return held


def release(ids: list[int], owner: str, reason: str | None = None) -> None:
    """Hand claimed messages back untouched (attempts not spent), with why if known."""
    if not ids:
        return
    values = {"status": QUEUED, "lease_owner": None, "lease_until": None}
    if reason:
        values["last_error"] = reason
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.lease_owner == owner,
            OutboxMessage.status == SENDING,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def release_all(owner: str) -> None:
    ids = db.session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.lease_owner == owner, OutboxMessage.status == SENDING
        )
    ).all()
    release(list(ids), owner)


def verdict_before_send(row: Claimed, now: datetime, give_up: timedelta) -> tuple[str, str] | None:
    """(status, reason) if the message must not be sent any more, else None."""
    if row.not_after and now > row.not_after:
        return EXPIRED, "not sent: its link expired before it could be delivered"
    if now - row.created_at > give_up:
        return FAILED, f"gave up: still undelivered after {give_up}"
    if row.mime is None:
        return FAILED, "the message body was purged before it was sent"
    return None


def close_unsent(row: Claimed, status: str, reason: str) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id)
        .values(status=status, last_error=reason, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    snap = events.snapshot(status, row, reason)
    db.session.commit()
    events.log_snapshot(snap)


# Marks go through Core statements, not the ORM's unit of work; the hot one, a delivered
# message, is in sent_marks.py.
_RECORD_ATTEMPT = insert(DeliveryAttempt.__table__)


def mark_failure(
    row: OutboxMessage, error: DeliveryError, relay: str, started: datetime, owner: str
) -> None:
    """A 4xx or dropped link: retry later, with backoff; a 5xx or bad encoding: failed."""
    row.attempts += 1
    row.last_error = error.reason
    row.lease_owner = row.lease_until = None
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    if error.kind == RETRY and row.attempts < max_attempts:
        row.status = QUEUED
        row.next_attempt_at = clock.utcnow() + backoff(row.attempts)
        outcome = "retry"
    else:
        row.status = FAILED
        if error.kind == RETRY:
            row.last_error = f"gave up after {row.attempts} attempts: {error.reason}"
        outcome = "failed"
    _record_attempt(
        row, outcome, error.code, error.reason, error.error_class, relay, started, owner
    )
    snap = events.snapshot(outcome, row, error.reason)
    db.session.commit()
    events.log_snapshot(snap)


def backoff(attempts: int) -> timedelta:
    """Exponential, capped, with jitter so a burst of retries does not return as one."""
    base = current_app.config["MAIL_RETRY_BASE"]
    cap = current_app.config["MAIL_RETRY_MAX"]
    delay = min(cap, base * 2 ** (attempts - 1))
    return timedelta(seconds=delay * random.uniform(0.75, 1.25))


def requeue(row: OutboxMessage, *, priority: int | None = None) -> bool:
    """Send a failed or expired message again (admin retry). Not committed here."""
    if row.status not in (FAILED, EXPIRED) or row.mime is None:
        return False
    row.status, row.next_attempt_at = QUEUED, clock.utcnow()
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


def purge_bodies(older_than: timedelta) -> int:
    """Drop the bodies of old sent mail: they can hold links that still work."""
    cutoff = clock.utcnow() - older_than
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status.in_((SENT, SUPPRESSED, EXPIRED)),
            OutboxMessage.created_at < cutoff,
            OutboxMessage.mime.is_not(None),
        )
        .values(mime=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def _record_attempt(row, outcome, code, reply, error_class, relay, started, owner) -> None:
    duration = clock.utcnow() - started
    values = {
        "outbox_id": row.id,
        "started_at": started,
        "duration_ms": int(duration.total_seconds() * 1000),
        "outcome": outcome,
        "smtp_code": code,
        "smtp_reply": reply,
        "error_class": error_class,
        "relay": relay,
        "sender_name": owner,
    }
    db.session.connection().execute(_RECORD_ATTEMPT, values)
