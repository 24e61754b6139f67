"""Claims on outbox rows: take due mail with a lease, renew it, and every fenced change after.

A claim is the lease owner (one sender's random identity) and the row's claim generation,
bumped by every claim. Every change of a claimed row (renewal, release, failure, closing
unsent, the sent-mark in sent_marks.py) checks both, so a sender whose lease ran out and
was taken over changes nothing: the message is the other sender's now. Leases and due
times are read from the database's clock (db_clock.py), never a host's.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from flask import current_app
from sqlalchemy import Float, and_, bindparam, insert, select, tuple_, update

from app import clock
from app.extensions import db
from app.mail import events, suppression
from app.mail.db_clock import utc_now
from app.mail.models import FAILED, QUEUED, SENDING, DeliveryAttempt, OutboxMessage
from app.mail.transport import RETRY, DeliveryError

log = logging.getLogger("mailroom.mail")


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
    attempts: int
    # This claim's generation of the row: the fence every later change checks.
    claim_generation: int


# Table columns, not ORM attributes: a Core statement skips the ORM's compile and row
# machinery, a sixth of a sender's CPU during a drain (py-spy on bench/drain_throughput.py).
_OUTBOX = OutboxMessage.__table__
_CLAIMED_COLUMNS = [_OUTBOX.c[name] for name in Claimed._fields]


def claim_due(owner: str, limit: int, lease: timedelta) -> list[Claimed]:
    """Atomically take up to `limit` messages, first any whose sender's lease ran out, then
    queued ones that are due, highest priority and oldest first; in id order, read by the
    claim itself: the hot path of a drain then reads nothing more per message."""
    params = {"owner": owner, "lease_seconds": lease.total_seconds()}
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
    lapsed = and_(column.status == SENDING, column.lease_until < utc_now())
    # Two queries, not one with an OR: this one reads ix_mail_outbox_queue in order and
    # stops after `limit` rows, however long the backlog (EXPLAIN on both databases).
    due = and_(column.status == QUEUED, column.next_attempt_at <= utc_now())
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
            status=SENDING,
            lease_owner=bindparam("owner"),
            lease_until=utc_now(bindparam("lease_seconds", type_=Float)),
            claim_generation=_OUTBOX.c.claim_generation + 1,
        )
        .returning(*_CLAIMED_COLUMNS)
    )


def fence(row_id: int, generation: int, owner: str):
    """The row is still in the claim that `owner` made as `generation`."""
    column = _OUTBOX.c
    return and_(
        column.id == row_id,
        column.lease_owner == owner,
        column.claim_generation == generation,
        column.status == SENDING,
    )


def _held_by(rows: dict[int, int], owner: str):
    """Like `fence`, for many rows ({id: generation}) in one statement."""
    column = _OUTBOX.c
    return and_(
        tuple_(column.id, column.claim_generation).in_(list(rows.items())),
        column.lease_owner == owner,
        column.status == SENDING,
    )


def renew(rows: dict[int, int], owner: str, lease: timedelta) -> set[int]:
    """Renew the lease on `rows` ({id: generation}); returns the ids still ours (a lease
    that ran out may have been taken by another sender, whose message it now is)."""
    if not rows:
        return set()
    held = db.session.scalars(
        update(_OUTBOX)
        .where(_held_by(rows, owner))
        .values(lease_until=utc_now(lease.total_seconds()))
        .returning(_OUTBOX.c.id)
    ).all()
    db.session.commit()
    return set(held)


def release(rows: dict[int, int], owner: str, reason: str | None = None) -> None:
    """Hand claimed messages back untouched (attempts not spent), with why if known."""
    if not rows:
        return
    values = {"status": QUEUED, "lease_owner": None, "lease_until": None}
    if reason:
        values["last_error"] = reason
    result = db.session.execute(update(_OUTBOX).where(_held_by(rows, owner)).values(**values))
    db.session.commit()
    if result.rowcount < len(rows):
        log.warning(
            "mail claim lost: %s handed back %d of %d messages; the rest were taken over",
            owner,
            result.rowcount,
            len(rows),
        )


def close_unsent(row: Claimed, owner: str, status: str, reason: str) -> bool:
    """Close a message that must not be sent any more (expired, given up)."""
    result = db.session.execute(
        update(_OUTBOX)
        .where(fence(row.id, row.claim_generation, owner))
        .values(status=status, last_error=reason, lease_owner=None, lease_until=None)
    )
    if not _still_ours(result, row, owner, status):
        return False
    snap = events.snapshot(status, row, reason)
    db.session.commit()
    events.log_snapshot(snap)
    return True


# Marks go through Core statements, not the ORM's unit of work; the hot one, a delivered
# message, is in sent_marks.py.
_RECORD_ATTEMPT = insert(DeliveryAttempt.__table__)


def mark_failure(
    row: Claimed, error: DeliveryError, relay: str, started: datetime, owner: str
) -> bool:
    """A 4xx or dropped link: retry later, with backoff; a 5xx or bad encoding: failed.
    False, and nothing changed, when the claim is no longer this sender's."""
    attempts = row.attempts + 1
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    values = {
        "attempts": attempts,
        "last_error": error.reason,
        "lease_owner": None,
        "lease_until": None,
    }
    if error.kind == RETRY and attempts < max_attempts:
        outcome = "retry"
        values["status"] = QUEUED
        values["next_attempt_at"] = utc_now(backoff(attempts).total_seconds())
    else:
        outcome = values["status"] = FAILED
        if error.kind == RETRY:
            values["last_error"] = f"gave up after {attempts} attempts: {error.reason}"
    result = db.session.execute(
        update(_OUTBOX).where(fence(row.id, row.claim_generation, owner)).values(**values)
    )
    if not _still_ours(result, row, owner, outcome):
        return False
    record_attempt(row.id, outcome, error, relay, started, owner)
    # A hard bounce at RCPT puts the address on the suppression list, in this transaction.
    bounced = suppression.note_failure(row.recipient, error, row.id)
    seconds = (clock.utcnow() - started).total_seconds()
    snap = events.snapshot(
        outcome, row, error.reason, code=error.code, seconds=seconds, hard_bounce=bounced
    )
    db.session.commit()
    events.log_snapshot(snap)
    return True


def _still_ours(result, row: Claimed, owner: str, change: str) -> bool:
    if result.rowcount == 1:
        return True
    db.session.rollback()
    log.warning(
        "mail claim lost: %s of message_id=%s by %s not written (claim %d taken over)",
        change,
        row.message_id,
        owner,
        row.claim_generation,
    )
    return False


def backoff(attempts: int) -> timedelta:
    """Exponential, capped, with jitter so a burst of retries does not return as one."""
    base = current_app.config["MAIL_RETRY_BASE"]
    cap = current_app.config["MAIL_RETRY_MAX"]
    delay = min(cap, base * 2 ** (attempts - 1))
    return timedelta(seconds=delay * random.uniform(0.75, 1.25))


def record_attempt(
    row_id: int, outcome: str, error: DeliveryError, relay: str, started: datetime, owner: str
) -> None:
    duration = clock.utcnow() - started
    values = {
        "outbox_id": row_id,
        "started_at": started,
        "duration_ms": int(duration.total_seconds() * 1000),
        "outcome": outcome,
        "smtp_code": error.code,
        "smtp_reply": error.reason,
        "error_class": error.error_class,
        "relay": relay,
        "sender_name": owner,
    }
    db.session.connection().execute(_RECORD_ATTEMPT, values)
