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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache

from sqlalchemy import DateTime, Integer, String, Text, bindparam, insert, select, update
from sqlalchemy.engine import Connection

from app import clock
from app.extensions import db
from app.mail import events
from app.mail.models import SENT, DeliveryAttempt, OutboxMessage
from app.mail.transport import Reply

_OUTBOX, _ATTEMPTS = OutboxMessage.__table__, DeliveryAttempt.__table__

_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id", type_=Integer))
    .values(
        attempts=_OUTBOX.c.attempts + 1,
        status=SENT,
        smtp_reply=bindparam("reply", type_=Text),
        relay=bindparam("relay", type_=String),
        sent_at=bindparam("now", type_=DateTime),
        lease_owner=None,
        lease_until=None,
        last_error=None,
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
        self.statements = _statements(connection.dialect)
        # PostgreSQL: the connection is in autocommit and the mark is one statement.
        self.commit = len(self.statements) > 1

    def mark(self, row, reply: Reply, relay: str, started: datetime, owner: str) -> None:
        now = clock.utcnow()
        text = str(reply)
        values = {
            "row_id": row.id,
            "reply": text,
            "relay": relay,
            "now": now,
            "started": started,
            "duration_ms": int((now - started).total_seconds() * 1000),
            "outcome": "sent",
            "code": reply.code,
            "error_class": None,
            "owner": owner,
        }
        for statement in self.statements:
            self.cursor.execute(statement.sql, statement.parameters(values))
        if self.commit:
            self.driver.commit()
        events.log_event("sent", row, text)


@contextmanager
def held_for_claim() -> Iterator[SentMarks]:
    """A connection of the sender's own, from the pool, for one claim's sent-marks."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield SentMarks(connection)
