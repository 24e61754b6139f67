"""Marking delivered mail as sent, on one connection a sender holds for a whole claim.

Every delivered message is marked in a commit of its own, and the next message's DATA
waits for it, so that a crash re-sends at most one message. That commit is the drain's
hot path: the connection is checked out once per claim and the statements, compiled
once, run on the driver's connection, not through the session (five round trips a mark
once, the pool's ping and the transaction's begin and commit among them). On PostgreSQL
the mark is a single prepared statement (the UPDATE's RETURNING feeds the attempt's
INSERT) in autocommit, atomic as every statement is; it is sent without waiting
(pg_pending.py), and its answer is read just before the next message's DATA, so the
commit's wait for the disk overlaps that message's MAIL FROM and RCPT TO. SQLite has no
DML in a WITH clause; there the two statements share one transaction, written at once.

The mark is fenced by the claim (owner and generation, claims.py) in its own WHERE: a
sender that lost its claim writes nothing, and `mark` says so. A sensitive message's body
is dropped by the same statement. A mark the database refuses is retried, the row kept
claimed and its lease renewed, until it is written (`record`): a delivered message is
never handed back to be sent again; the rest of the claim is handed back meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import NamedTuple

from sqlalchemy.engine import Connection

from app import clock
from app.extensions import db
from app.mail import claims, events, mark_statements
from app.mail.held_claim import HeldClaim
from app.mail.pg_pending import PendingStatements
from app.mail.transport import Reply

log = logging.getLogger("mailroom.mail")
# A sent-mark the database refused is retried this often (doubling from the first).
RETRY_FIRST_S, RETRY_MAX_S = 0.05, 2.0
# After this many refusals every other try leaves the server's reply out: it may be what
# the database refuses, and the delivery matters more than its words.
TRIES_WITH_REPLY = 2


class SentMarks:
    """Marks messages sent on one pooled connection, one durable commit per message.

    `start` begins a delivery's mark and `settle` ends it. On SQLite `start` does it all.
    On PostgreSQL `start` only sends the statement (autocommit: one statement, one
    commit); the sender settles it before the next message's DATA, so the commit's wait
    for the disk overlaps that message's MAIL FROM and RCPT TO. No second message is
    delivered while one delivered message is unrecorded: a crash re-sends at most one."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.driver = connection.connection.driver_connection
        self.written = 0  # marks written by this sender, for its heartbeat
        self.pending: tuple[Delivery, HeldClaim, threading.Event, dict] | None = None
        if connection.dialect.name == "postgresql":
            prepared = connection.connection.info.setdefault("mailroom.prepared", set())
            self.postgres = PendingStatements(self.driver, prepared)
            self.statement = mark_statements.postgresql_statement(connection.dialect)
        else:
            self.postgres = None
            self.cursor = self.driver.cursor()
            self.update, self.insert = mark_statements.sqlite_statements(connection.dialect)

    def mark(
        self, row, reply: Reply, relay: str, started: datetime, owner: str, *, bare: bool = False
    ) -> bool:
        """Record the delivery now; False (nothing written) when the claim is no longer
        ours. `bare` leaves the server's reply out, in case it is what the database refused."""
        self.settle()
        delivery = Delivery(row, reply, relay, started, owner)
        values = _values(delivery, bare)
        try:
            if self.postgres is None:
                written = self._write_sqlite(values)
            else:
                self.postgres.send(self.statement, values)
                written = self.postgres.result() == 1
        except Exception:
            self._broken()
            raise
        if written:
            _log_sent(delivery, values)
        return written

    def start(self, delivery: Delivery, claim: HeldClaim, stopping: threading.Event) -> None:
        """Begin marking a delivered message; it leaves the claim's held rows at once (a
        delivered message is never handed back)."""
        self.settle()
        claim.finished(delivery.mail.id)
        if self.postgres is None:
            self._count(record(delivery, self, claim, stopping))
            return
        values = _values(delivery, bare=False)
        try:
            self.postgres.send(self.statement, values)
        except Exception:  # noqa: BLE001 - not sent: the retries below take it from here
            _log_refused(delivery)
            self._broken()
            self._count(record(delivery, self, claim, stopping, refused=True))
            return
        self.pending = (delivery, claim, stopping, values)

    def settle(self) -> None:
        """Wait for the mark in flight, if any, retrying it until written if refused."""
        if self.pending is None:
            return
        delivery, claim, stopping, values = self.pending
        self.pending = None
        try:
            written = self.postgres.result() == 1
        except Exception:  # noqa: BLE001 - any refusal: keep the claim and try again
            _log_refused(delivery)
            self._broken()
            self._count(record(delivery, self, claim, stopping, refused=True))
            return
        if written:
            _log_sent(delivery, values)
        else:
            _log_taken_over(delivery)
        self._count(written)

    def _count(self, written: bool) -> None:
        self.written += bool(written)

    def _write_sqlite(self, values: dict) -> bool:
        self.cursor.execute(self.update.sql, self.update.parameters(values))
        written = self.cursor.rowcount == 1
        if written:  # the attempt is recorded only when the fenced UPDATE matched
            self.cursor.execute(self.insert.sql, self.insert.parameters(values))
        self.driver.commit()
        return written

    def _broken(self) -> None:
        # A refused statement may leave a transaction open (SQLite) or the connection
        # mid-statement (PostgreSQL): roll back, and let the pool replace the connection.
        if self.postgres is None:
            with suppress(Exception):
                self.driver.rollback()
        else:
            with suppress(Exception):
                self.connection.invalidate()


def _values(delivery: Delivery, bare: bool) -> dict:
    now = clock.utcnow()
    return {
        "row_id": delivery.mail.id,
        "generation": delivery.mail.claim_generation,
        "reply": None if bare else str(delivery.reply),
        "relay": delivery.relay,
        "now": now,
        "started": delivery.started,
        "duration_ms": int((now - delivery.started).total_seconds() * 1000),
        "outcome": "sent",
        "code": delivery.reply.code,
        "error_class": None,
        "owner": delivery.owner,
    }


def _log_sent(delivery: Delivery, values: dict) -> None:
    seconds = (values["now"] - delivery.started).total_seconds()
    text = str(delivery.reply)
    events.log_event("sent", delivery.mail, text, code=delivery.reply.code, seconds=seconds)


@contextmanager
def held_for_claim() -> Iterator[SentMarks]:
    """A connection of the sender's own, from the pool, for one claim's sent-marks. The
    mark in flight is settled before the connection goes back, whatever happened."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        marks = SentMarks(connection)
        try:
            yield marks
        finally:
            marks.settle()


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
    delivery: Delivery,
    marks: SentMarks,
    claim: HeldClaim,
    stopping: threading.Event,
    refused: bool = False,
) -> bool:
    """Mark a delivered message sent; True once written by this sender. Whatever happens,
    the row leaves the claim's held rows: a delivered message is never handed back.
    `refused`: a first try on `marks` already failed (and was logged): go to the retries."""
    written = None
    try:
        if not refused:
            try:
                written = delivery.mark_on(marks)
            except Exception:  # noqa: BLE001 - any refusal: keep the claim and try again
                _log_refused(delivery)
                refused = True
        if refused:
            written = _retry(delivery, claim, stopping)
    finally:
        claim.finished(delivery.mail.id)
    if written is False:
        _log_taken_over(delivery)
    return bool(written)


def _log_refused(delivery: Delivery) -> None:
    log.exception("mail sender %s: could not record a delivery", delivery.owner)


def _log_taken_over(delivery: Delivery) -> None:
    log.warning(
        "mail sender %s: delivered message_id=%s after its claim was taken over",
        delivery.owner,
        delivery.mail.message_id,
    )


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
