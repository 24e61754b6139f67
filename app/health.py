"""The health verdict behind /healthz: is the database there, and is anyone sending the mail?

Healthy means both. Senders are judged where they run: this process's own threads
when it runs senders (MAIL_SENDER_THREADS > 0), else any live sender heartbeat in
the database (a separate `flask mail worker`). Nothing here names a host or a secret.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from pathlib import Path

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.mail.sender import current_pool
from app.mail.status import alive_window, mail_status


def health_report() -> tuple[bool, dict]:
    """(healthy, report): the database check first; mail figures only if it answered."""
    problem = database_problem()
    if problem:
        return False, {"status": "unhealthy", "database": {"ok": False, "error": problem}}
    try:
        status = mail_status()
    except SQLAlchemyError as exc:
        db.session.rollback()
        return False, {"status": "unhealthy", "database": {"ok": False, "error": _name(exc)}}
    senders_ok = senders_healthy(status)
    report = {
        "status": "ok" if senders_ok else "unhealthy",
        "database": {"ok": True},
        "outbox": status["counts"],
        "oldest_queued_age_s": status["oldest_queued_age_s"],
        "senders": {
            "ok": senders_ok,
            "in_this_process": current_app.config["MAIL_SENDER_THREADS"],
            "alive": sum(1 for s in status["senders"] if s["alive"]),
            "heartbeats": [_public(s) for s in status["senders"]],
        },
        "last_transport_error": status["last_transport_error"],
        "last_transport_error_at": status["last_transport_error_at"],
    }
    return senders_ok, report


def database_problem() -> str | None:
    """None when the database answers; else the error's class name (never the URL)."""
    try:
        _check_sqlite_file()
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
        db.session.rollback()
        return _name(exc)
    return None


def _check_sqlite_file() -> None:
    """A pooled SQLite connection keeps working on a file that was deleted or moved away,
    writing into nothing: check the configured path itself, without creating it."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    probe = sqlite3.connect(f"{Path(url.database).resolve().as_uri()}?mode=rw", uri=True, timeout=1)
    try:
        probe.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    finally:
        probe.close()


def senders_healthy(status: dict) -> bool:
    limit = silence_limit()
    if current_app.config["MAIL_SENDER_THREADS"] <= 0:
        # This process only enqueues: some other process must be sending.
        return any(_beating(s, limit) for s in status["senders"])
    pool = current_pool(current_app)
    if pool is None or not pool.alive():
        return False
    mine = [s for s in status["senders"] if _is_mine(s)]
    # Threads that have not written their first heartbeat yet are starting, not dead.
    return not mine or any(_beating(s, limit) for s in mine)


def silence_limit() -> float:
    """Seconds a sender may go without a heartbeat before /healthz calls it dead: the usual
    allowance, plus one message against a slow server (up to 4 x MAIL_TIMEOUT). A slow SMTP
    server must not fail the health check and get healthy web workers restarted."""
    return alive_window().total_seconds() + 4 * current_app.config["MAIL_TIMEOUT"]


def _beating(sender: dict, limit: float) -> bool:
    return sender["alive"] or (sender["heartbeat_age_s"] or 0.0) <= limit


def _is_mine(sender: dict) -> bool:
    return sender["pid"] == os.getpid() and sender["host"] == socket.gethostname()


def _public(sender: dict) -> dict:
    keys = ("alive", "heartbeat_age_s", "sent_count", "backoff_until", "last_error")
    return {key: sender[key] for key in keys}


def _name(exc: BaseException) -> str:
    return f"database unreachable ({type(exc).__name__})"
