"""The SQL of a sent-mark, built and compiled once per dialect.

SQLite: an UPDATE fenced by the claim, then the attempt's INSERT, in one transaction.
PostgreSQL: one statement, the UPDATE's RETURNING feeding the INSERT, prepared on each
connection and sent without waiting (pg_pending.py).
"""

from __future__ import annotations

from functools import cache

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

from app.mail.claims import fence
from app.mail.models import SENT, DeliveryAttempt, OutboxMessage
from app.mail.pg_pending import PgStatement

_OUTBOX, _ATTEMPTS = OutboxMessage.__table__, DeliveryAttempt.__table__

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


class DriverStatement:
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
def sqlite_statements(dialect) -> tuple[DriverStatement, DriverStatement]:
    return DriverStatement(_MARK_SENT, dialect), DriverStatement(_RECORD_ATTEMPT, dialect)


@cache
def postgresql_statement(dialect) -> PgStatement:
    return PgStatement("mark_sent", _MARK_AND_RECORD.compile(dialect=dialect))
