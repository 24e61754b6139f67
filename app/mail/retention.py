"""Retention: delete finished mail past MAIL_RETENTION_DAYS and the rows of dead senders.

Deleted in batches of BATCH rows, each its own short transaction, so a purge of a big
backlog never holds long locks against the senders and the web requests writing beside
it. Mail still queued or sending is never touched, whatever its age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select

from app import clock
from app.extensions import db
from app.mail.models import (
    EXPIRED,
    FAILED,
    SENT,
    SUPPRESSED,
    DeliveryAttempt,
    OutboxMessage,
    SenderState,
)

FINISHED = (SENT, FAILED, EXPIRED, SUPPRESSED)
# Rows per transaction: each batch takes milliseconds, so nobody waits on it for long.
BATCH = 1000
# A sender beats every few seconds: one silent for a day is dead, whatever it was doing.
DEAD_SENDER_AFTER = timedelta(days=1)


@dataclass
class Purged:
    messages: int = 0
    attempts: int = 0
    senders: int = 0


def purge(older_than: timedelta, batch: int = BATCH) -> Purged:
    """Delete finished mail created before `older_than` ago, with its attempts, and the
    rows of senders dead for a day."""
    purged = Purged()
    cutoff = clock.utcnow() - older_than
    while True:
        messages, attempts = _purge_messages(cutoff, batch)
        purged.messages += messages
        purged.attempts += attempts
        if messages < batch:
            break
    purged.senders = _purge_dead_senders(clock.utcnow() - DEAD_SENDER_AFTER, batch)
    return purged


def _purge_messages(cutoff: datetime, batch: int) -> tuple[int, int]:
    pick = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status.in_(FINISHED), OutboxMessage.created_at < cutoff)
        .order_by(OutboxMessage.id)
        .limit(batch)
    )
    if db.engine.dialect.name == "postgresql":
        # Rows an admin is requeueing right now are left for the next purge.
        pick = pick.with_for_update(skip_locked=True)
    ids = db.session.scalars(pick).all()
    if not ids:
        db.session.rollback()
        return 0, 0
    # Still finished: on SQLite the transaction (BEGIN IMMEDIATE) starts at the first
    # DELETE, so a row requeued since the SELECT is checked again here.
    finished = select(OutboxMessage.id).where(
        OutboxMessage.id.in_(ids), OutboxMessage.status.in_(FINISHED)
    )
    attempts = db.session.execute(
        delete(DeliveryAttempt)
        .where(DeliveryAttempt.outbox_id.in_(finished))
        .execution_options(synchronize_session=False)
    ).rowcount
    messages = db.session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.id.in_(finished))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return messages, attempts


def _purge_dead_senders(cutoff: datetime, batch: int) -> int:
    dead = or_(SenderState.backoff_until.is_(None), SenderState.backoff_until < cutoff)
    total = 0
    while True:
        names = select(SenderState.name).where(SenderState.heartbeat_at < cutoff, dead)
        names = db.session.scalars(names.limit(batch)).all()
        if not names:
            db.session.rollback()
            return total
        total += db.session.execute(
            delete(SenderState)
            .where(SenderState.name.in_(names))
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
