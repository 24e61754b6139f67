"""Database engine settings: SQLite tuned for several processes, PostgreSQL as is.

SQLite: WAL so readers never block the writer, a busy timeout so writers wait
instead of failing, and every write transaction opened as BEGIN IMMEDIATE so a
claim never upgrades a read lock and hits SQLITE_BUSY under WAL.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

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
        options = {"pool_pre_ping": True, "connect_args": {"connect_timeout": PG_CONNECT_TIMEOUT_S}}
    if uri not in ("sqlite://", "sqlite:///:memory:"):  # those have no overflow to size
        # A sender holds a connection through each claim (its sent-marks) and briefly takes
        # a second for other writes: room for both, above what requests use (the default 10).
        options["max_overflow"] = 10 + 2 * max(sender_threads, 0)
    return options


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
