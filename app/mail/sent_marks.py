"""Marking delivered mail as sent, on one connection a sender holds for a whole claim.

Every delivered message is marked in a commit of its own, so that a crash re-sends at
most the message in hand. That commit is the drain's hot path. Through the session, each
mark checked a connection out of the pool (pinging it first on PostgreSQL), began a
transaction, ran an UPDATE and an INSERT, committed and gave the connection back: five
round trips to PostgreSQL per message, and more of the sender's CPU than the SMTP
exchange itself. Here the connection is checked out once per claim and the statements,
compiled once, run on the driver's connection. On PostgreSQL the mark is a single
statement (the UPDATE's RETURNING feeds the attempt's INSERT) in autocommit, atomic as
every statement is: one round trip. SQLite has no DML in a WITH clause; there the two
statements share one transaction.

The mark is fenced by the claim (owner and generation, claims.py) in its own WHERE: a
sender that lost its claim writes nothing, and `mark` says so. A sensitive message's body
is dropped by the same statement. A mark the database refuses is retried, the row kept
claimed and its lease renewed, until it is written (`record`): a delivered message is
never handed back to be sent again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Text,
    bindparam,
    case,
    insert,
    null,
    select,
    update,
)
from sqlalchemy.engine import Connection

from app import clock
from app.extensions import db
from app.mail import claims, events
from app.mail.claims import fence
from app.mail.held_claim import HeldClaim
from app.mail.models import SENT, DeliveryAttempt, OutboxMessage
from app.mail.transport import Reply

log = logging.getLogger("mailroom.mail")
_OUTBOX, _ATTEMPTS = OutboxMessage.__table__, DeliveryAttempt.__table__
# A sent-mark the database refused is retried this often (doubling from the first).
RETRY_FIRST_S, RETRY_MAX_S = 0.05, 2.0
# After this many refusals every other try leaves the server's reply out: it may be what
# the database refuses, and the delivery matters more than its words.
TRIES_WITH_REPLY = 2

_MARK_SENT = (
    update(_OUTBOX)
    .where(
        fence(
            bindparam("row_id", type_=Integer),
            bindparam("generation", type_=Integer),
            bindparam("owner", type_=String),
        )
    )
    .values(
        attempts=_OUTBOX.c.attempts + 1,
        status=SENT,
        smtp_reply=bindparam("reply", type_=Text),
        relay=bindparam("relay", type_=String),
        sent_at=bindparam("now", type_=DateTime),
        lease_owner=None,
        lease_until=None,
        last_error=None,
        # Account mail carries live links: once delivered, nobody needs its body.
        mime=case((_OUTBOX.c.sensitive, null()), else_=_OUTBOX.c.mime),
    )
)

# The attempt's columns, and the parameter each one takes (its outbox_id aside).
_ATTEMPT_VALUES = {
    "started_at": bindparam("started", type_=DateTime),
    "duration_ms": bindparam("duration_ms", type_=Integer),
    "outcome": bindparam("outcome", type_=String),
    "smtp_code": bindparam("code", type_=Integer),
    "smtp_reply": bindparam("reply", type_=Text),
    "error_class": bindparam("error_class", type_=String),
    "relay": bindparam("relay", type_=String),
    "sender_name": bindparam("owner", type_=String),
}

_RECORD_ATTEMPT = insert(_ATTEMPTS).values(
    outbox_id=bindparam("row_id", type_=Integer), **_ATTEMPT_VALUES
)

_marked = _MARK_SENT.returning(_OUTBOX.c.id).cte("marked")
_MARK_AND_RECORD = insert(_ATTEMPTS).from_select(
    ["outbox_id", *_ATTEMPT_VALUES],
    select(_marked.c.id, *_ATTEMPT_VALUES.values()),
)


class _DriverStatement:
    """A statement compiled once for a dialect and run on the driver's own connection.

    SQLAlchemy's execution machinery (compiled-cache lookup, execution context, result
    wrapping) cost more CPU than the driver's whole round trip for this one statement; the
    values are still converted by each column type's own bind processor."""

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.order = compiled.positiontup  # None when the driver takes named parameters
        # The statement's own constants (status='sent', the 1 of attempts + 1), once.
        self.constants = {
            compiled.bind_names[bind]: bind.effective_value
            for bind in compiled.binds.values()
            if not bind.required
        }
        self.convert = [
            (compiled.bind_names[bind], processor)
            for bind in compiled.binds.values()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        ]

    def parameters(self, values: dict):
        values = {**self.constants, **values}
        for name, convert in self.convert:
            values[name] = convert(values[name])
        return values if self.order is None else [values[name] for name in self.order]


@cache
def _statements(dialect) -> tuple[_DriverStatement, ...]:
    if dialect.name == "postgresql":
        return (_DriverStatement(_MARK_AND_RECORD, dialect),)
    return (_DriverStatement(_MARK_SENT, dialect), _DriverStatement(_RECORD_ATTEMPT, dialect))


class SentMarks:
    """Marks messages sent on one pooled connection, one durable commit per message."""

    def __init__(self, connection: Connection):
        self.driver = connection.connection.driver_connection
        self.cursor = self.driver.cursor()
        self.first, *self.rest = _statements(connection.dialect)
        # PostgreSQL: the connection is in autocommit and the mark is one statement.
        self.commit = bool(self.rest)

    def mark(
        self, row, reply: Reply, relay: str, started: datetime, owner: str, *, bare: bool = False
    ) -> bool:
        """Record the delivery; False (nothing written) when the claim is no longer ours.
        `bare` leaves the server's reply out, in case it is what the database refused."""
        now = clock.utcnow()
        text = str(reply)
        values = {
            "row_id": row.id,
            "generation": row.claim_generation,
            "reply": None if bare else text,
            "relay": relay,
            "now": now,
            "started": started,
            "duration_ms": int((now - started).total_seconds() * 1000),
            "outcome": "sent",
            "code": reply.code,
            "error_class": None,
            "owner": owner,
        }
        try:
            written = self._execute(values)
        except Exception:
            self._roll_back()
            raise
        if written:
            seconds = (now - started).total_seconds()
            events.log_event("sent", row, text, code=reply.code, seconds=seconds)
        return written

    def _execute(self, values: dict) -> bool:
        self.cursor.execute(self.first.sql, self.first.parameters(values))
        # PostgreSQL: the attempt rows inserted, one only if the fenced UPDATE matched.
        # SQLite: the UPDATE's rows; the attempt is recorded only then.
        written = self.cursor.rowcount == 1
        if written:
            for statement in self.rest:
                self.cursor.execute(statement.sql, statement.parameters(values))
        if self.commit:
            self.driver.commit()
        return written

    def _roll_back(self) -> None:
        # A broken link cannot roll back: the pool finds that out and replaces it.
        with suppress(Exception):
            self.driver.rollback()


@contextmanager
def held_for_claim() -> Iterator[SentMarks]:
    """A connection of the sender's own, from the pool, for one claim's sent-marks."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield SentMarks(connection)


class Delivery(NamedTuple):
    """A message the server accepted, and what its mark records."""

    mail: claims.Claimed
    reply: Reply
    relay: str
    started: datetime
    owner: str

    def mark_on(self, marks: SentMarks, bare: bool = False) -> bool:
        return marks.mark(self.mail, self.reply, self.relay, self.started, self.owner, bare=bare)


def record(
    delivery: Delivery, marks: SentMarks, claim: HeldClaim, stopping: threading.Event
) -> bool:
    """Mark a delivered message sent; True once written by this sender. Whatever happens,
    the row leaves the claim's held rows: a delivered message is never handed back."""
    try:
        written = delivery.mark_on(marks)
    except Exception:  # noqa: BLE001 - any refusal: keep the claim and try again
        log.exception("mail sender %s: could not record a delivery", delivery.owner)
        written = _retry(delivery, claim, stopping)
    finally:
        claim.finished(delivery.mail.id)
    if written is False:
        log.warning(
            "mail sender %s: delivered message_id=%s after its claim was taken over",
            delivery.owner,
            delivery.mail.message_id,
        )
    return bool(written)


def _retry(delivery: Delivery, claim: HeldClaim, stopping: threading.Event) -> bool | None:
    """Keep the delivered row claimed, its lease renewed, until its mark is written, each
    time on a fresh connection. False if the claim was lost, None if stopped first."""
    mail = delivery.mail
    # The rest of the claim need not wait for the database: other senders can take it.
    rest = {row_id: gen for row_id, gen in claim.rows.items() if row_id != mail.id}
    claim.rows = {mail.id: mail.claim_generation}
    try:
        claims.release(rest, delivery.owner)
    except Exception:  # noqa: BLE001 - their leases run out anyway
        db.session.rollback()
    delay, tries = RETRY_FIRST_S, 1
    while True:
        tries += 1
        stopped = stopping.wait(delay)
        claim.keep(now=True)
        if not claim.holds(mail.id):
            return False
        try:
            with held_for_claim() as marks:
                bare = tries > TRIES_WITH_REPLY and tries % 2 == 1
                return delivery.mark_on(marks, bare=bare)
        except Exception:  # noqa: BLE001 - still refused: wait and try again
            log.warning("mail sender %s: delivery still not recorded", delivery.owner)
        if stopped:
            log.error(
                "mail sender %s: stopping with message_id=%s delivered but not recorded;"
                " it is sent again once its lease runs out",
                delivery.owner,
                mail.message_id,
            )
            return None
        # Never wait past a quarter of the lease: it is renewed only between tries.
        delay = min(2 * delay, RETRY_MAX_S, claim.lease.total_seconds() / 4)
