"""The health verdict behind /healthz: can this instance serve, and is the mail going out?

Anyone may ask, so the answer names its reasons in fixed words and nothing else: no host,
no address, no SMTP reply text. The figures behind it (counts, heartbeats, the last
transport error) are for an admin or a caller holding HEALTH_TOKEN. Senders are judged
where they run: this process's own threads when it runs senders, else any live heartbeat
in the database (a separate `flask mail worker`).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.admin.figures import COUNT_CAP, OutboxFigures, outbox_figures
from app.extensions import db
from app.mail import relay_state
from app.mail.sender import current_pool
from app.mail.status import alive_window

DATABASE_UNREACHABLE = "database unreachable"
NO_SENDER_ALIVE = "no sender alive"
TRANSPORT_FAILING = "smtp transport failing"
QUEUE_BACKING_UP = "queue backing up"
# These mean this instance cannot do its job: a load balancer should route around it (503).
# The others hold mail back for every instance alike; taking them all out of rotation would
# turn an SMTP outage into a site outage, so they answer 200 with the reason.
INSTANCE_DOWN = (DATABASE_UNREACHABLE, NO_SENDER_ALIVE)


@dataclass
class Verdict:
    reasons: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "degraded" if self.reasons else "ok"

    @property
    def http_status(self) -> int:
        return 503 if any(reason in INSTANCE_DOWN for reason in self.reasons) else 200

    def public(self) -> dict:
        return {"status": self.status, "reasons": self.reasons}

    def detailed(self) -> dict:
        return {**self.public(), **self.details}


def health_verdict(detailed: bool = False) -> Verdict:
    """The database check first; the mail figures only if it answered. The counts behind
    the details are left out of a public answer (load balancers ask often)."""
    problem = database_problem()
    if problem is None:
        try:
            return _mail_verdict(outbox_figures(counts=detailed))
        except SQLAlchemyError as exc:
            db.session.rollback()
            problem = type(exc).__name__
    return Verdict([DATABASE_UNREACHABLE], {"database": {"ok": False, "error": problem}})


def _mail_verdict(figures: OutboxFigures) -> Verdict:
    senders_ok = senders_healthy(figures.senders)
    reasons = [
        reason
        for reason, holds in (
            (NO_SENDER_ALIVE, not senders_ok),
            (TRANSPORT_FAILING, figures.transport_failing),
            (QUEUE_BACKING_UP, figures.overdue),
        )
        if holds
    ]
    details = {
        "database": {"ok": True},
        "outbox": figures.counts,
        # A count at the cap means that many or more: counting further would read the table.
        "outbox_count_cap": COUNT_CAP,
        "oldest_queued_age_s": figures.oldest_waiting_age_s,
        "senders": {
            "ok": senders_ok,
            "in_this_process": current_app.config["MAIL_SENDER_THREADS"],
            "alive": sum(1 for s in figures.senders if s["alive"]),
            "heartbeats": [_heartbeat(s) for s in figures.senders],
        },
        "last_transport_error": figures.last_transport_error,
        "last_transport_error_at": figures.last_transport_error_at,
        # The primary relay, or the fallback since when and why (MAIL_FALLBACK_SERVER).
        "relay": relay_state.describe(current_app.config),
    }
    return Verdict(reasons, details)


def database_problem() -> str | None:
    """None when the database answers; else the error's class name (never the URL)."""
    import sqlite3  # here: a process on PostgreSQL never needs it (a mail worker, say)

    try:
        _check_sqlite_file()
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
        db.session.rollback()
        return type(exc).__name__
    return None


def _check_sqlite_file() -> None:
    """A pooled SQLite connection keeps working on a file that was deleted or moved away,
    writing into nothing: check the configured path itself, without creating it."""
    import sqlite3

    url = db.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    probe = sqlite3.connect(f"{Path(url.database).resolve().as_uri()}?mode=rw", uri=True, timeout=1)
    try:
        probe.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    finally:
        probe.close()


def senders_healthy(senders: list[dict]) -> bool:
    limit = silence_limit()
    if current_app.config["MAIL_SENDER_THREADS"] <= 0:
        # This process only enqueues: some other process must be sending.
        return any(_beating(s, limit) for s in senders)
    pool = current_pool(current_app)
    if pool is None or not pool.alive():
        return False
    mine = [s for s in senders if _is_mine(s)]
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


def _heartbeat(sender: dict) -> dict:
    keys = ("alive", "heartbeat_age_s", "sent_count", "backoff_until", "last_error")
    return {key: sender[key] for key in keys}
