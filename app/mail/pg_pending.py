"""A statement sent to PostgreSQL now and its result read later, on libpq's own API.

The sent-mark's commit waits for the write-ahead log to reach the disk (about half of
its time on the benchmark machine). psycopg's cursor waits for it before returning; here
the mark is sent, the sender goes on with the next message's MAIL FROM and RCPT TO, and
reads the result before that message's DATA (sent_marks.py says why that keeps the
duplicate window at one message). The statement is prepared once per connection and its
parameters go as text with the casts SQLAlchemy compiled into it.
"""

from __future__ import annotations

import re
import select
from datetime import datetime

import psycopg
from psycopg import errors, pq

# A mark normally answers within a millisecond; one that has not after this long is
# treated as failed (the connection is then dropped: it is mid-statement).
RESULT_TIMEOUT_S = 30.0
_NAMED = re.compile(r"%\((\w+)\)s")
# psycopg's own names are _pg3_N; a name of ours can never be taken by it.
_PREFIX = "mailroom_"


class PgStatement:
    """One compiled SQLAlchemy statement, rewritten to libpq's $n placeholders."""

    def __init__(self, name: str, compiled) -> None:
        self.name = (_PREFIX + name).encode()
        self.params: list[str] = []
        self.sql = _NAMED.sub(self._placeholder, compiled.string).replace("%%", "%").encode()
        # The statement's own constants (status='sent', the 1 of attempts + 1).
        self.constants = {
            compiled.bind_names[bind]: bind.effective_value
            for bind in compiled.binds.values()
            if not bind.required
        }

    def _placeholder(self, match: re.Match) -> str:
        name = match.group(1)
        if name not in self.params:
            self.params.append(name)
        return f"${self.params.index(name) + 1}"

    def values(self, values: dict) -> list[bytes | None]:
        merged = {**self.constants, **values}
        return [_text(merged[name]) for name in self.params]


def _text(value) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, datetime):
        return value.isoformat(" ").encode()
    return str(value).encode()


class PendingStatements:
    """Send a prepared statement without waiting; `result` waits for its row count."""

    def __init__(self, driver_connection: psycopg.Connection, prepared: set) -> None:
        # `prepared` lives with the pooled connection: names prepared on it, kept across
        # checkouts (and emptied when PostgreSQL says one is gone).
        self.pgconn = driver_connection.pgconn
        self.prepared = prepared
        self.in_flight: tuple[PgStatement, list] | None = None

    def send(self, statement: PgStatement, values: dict) -> None:
        params = statement.values(values)
        if statement.name not in self.prepared:
            self._prepare(statement)
        self.pgconn.send_query_prepared(statement.name, params)
        self._flush()
        self.in_flight = (statement, params)

    def result(self) -> int:
        """Rows the statement in flight changed; raises what PostgreSQL answered."""
        statement, params = self.in_flight
        self.in_flight = None
        answer = self._answer()
        if answer.status == pq.ExecStatus.COMMAND_OK:
            return answer.command_tuples or 0
        if _sqlstate(answer) == errors.InvalidSqlStatementName.sqlstate:
            # Another user of the connection deallocated it (psycopg does DEALLOCATE ALL
            # after a ROLLBACK of its own statements): prepare it again and resend.
            self.prepared.discard(statement.name)
            self._prepare(statement)
            self.pgconn.send_query_prepared(statement.name, params)
            self._flush()
            answer = self._answer()
            if answer.status == pq.ExecStatus.COMMAND_OK:
                return answer.command_tuples or 0
        raise _error(answer)

    def _prepare(self, statement: PgStatement) -> None:
        self.pgconn.send_prepare(statement.name, statement.sql)
        self._flush()
        answer = self._answer()
        if answer.status == pq.ExecStatus.COMMAND_OK:
            self.prepared.add(statement.name)
        elif _sqlstate(answer) != errors.DuplicatePreparedStatement.sqlstate:
            raise _error(answer)
        else:
            self.prepared.add(statement.name)

    def _flush(self) -> None:
        while self.pgconn.flush():  # the connection is non-blocking: wait until written
            self._wait(select.POLLOUT)

    def _answer(self) -> pq.PGresult:
        """The first result of the statement sent; every other one read up to the end."""
        while True:
            self.pgconn.consume_input()
            if not self.pgconn.is_busy():
                break
            self._wait(select.POLLIN)
        first = self.pgconn.get_result()
        while self.pgconn.get_result() is not None:
            pass
        if first is None:
            raise psycopg.OperationalError("no answer from PostgreSQL")
        return first

    def _wait(self, event: int) -> None:
        poller = select.poll()
        poller.register(self.pgconn.socket, event)
        if not poller.poll(RESULT_TIMEOUT_S * 1000):
            raise psycopg.OperationalError("PostgreSQL did not answer in time")


def _sqlstate(answer: pq.PGresult) -> str | None:
    code = answer.error_field(pq.DiagnosticField.SQLSTATE)
    return code.decode() if code else None


def _error(answer: pq.PGresult) -> Exception:
    message = (answer.error_message or b"").decode(errors="replace").strip()
    code = _sqlstate(answer)
    try:
        kind = errors.lookup(code) if code else psycopg.DatabaseError
    except KeyError:
        kind = psycopg.DatabaseError
    return kind(message or "PostgreSQL refused the statement")
