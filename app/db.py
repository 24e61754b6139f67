"""Database engine settings: SQLite tuned for several processes, PostgreSQL checked cheaply.

SQLite: WAL so readers never block the writer, a busy timeout so writers wait
instead of failing, and every write transaction opened as BEGIN IMMEDIATE so a
claim never upgrades a read lock and hits SQLITE_BUSY under WAL.
PostgreSQL: a pooled connection the server ended is replaced at checkout, not failed on.
"""

from __future__ import annotations

import select

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

SQLITE_BUSY_TIMEOUT_S = 15
PG_CONNECT_TIMEOUT_S = 5


def engine_options(uri: str, sender_threads: int = 0) -> dict:
    if uri.startswith("sqlite"):
        options = {
            "connect_args": {
                "timeout": SQLITE_BUSY_TIMEOUT_S,
                # pysqlite opens a transaction before the first write only, as IMMEDIATE.
                "isolation_level": "IMMEDIATE",
                "check_same_thread": False,
            }
        }
    else:
        # A database host that vanished must fail fast (and /healthz answer fast), not hang
        # for the kernel's TCP timeout.
        # (No pool_pre_ping: _replace_ended_postgres_connection does its job for free.)
        options = {"connect_args": {"connect_timeout": PG_CONNECT_TIMEOUT_S}}
    if uri not in ("sqlite://", "sqlite:///:memory:"):  # those have no overflow to size
        # A sender holds a connection through each claim (its sent-marks) and briefly takes
        # a second for other writes: room for both, above what requests use (the default 10).
        options["max_overflow"] = 10 + 2 * max(sender_threads, 0)
    return options


def dialect_insert(dialect_name: str):
    """The `insert` of the database's own dialect (for ON CONFLICT). Only that one is
    imported: the engine loaded it already, and the other costs a process start-up time."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Pool, "checkout")
def _replace_ended_postgres_connection(dbapi_connection, _record, _proxy) -> None:
    """Hand out a pooled PostgreSQL connection only if the server still holds it open.

    pool_pre_ping would ask every checkout "SELECT 1": a round trip on every request and
    every claim. An idle connection has nothing to read unless the server ended it (a
    restart, pg_terminate_backend, an idle timeout: it sends an error and closes), so only a
    readable one is asked, and one that fails is replaced (the pool retries the checkout)."""
    if not type(dbapi_connection).__module__.startswith("psycopg") or _quiet(dbapi_connection):
        return
    try:
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.rollback()
    except dbapi_connection.Error as error:
        raise exc.DisconnectionError(f"pooled connection ended by the server: {error}") from error


def _quiet(dbapi_connection) -> bool:
    """Nothing waiting to be read on the connection's socket (poll: any descriptor number)."""
    if dbapi_connection.closed:
        return False
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
    return not poller.poll(0)
