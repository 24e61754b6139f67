"""The mail pipeline's health in numbers: outbox counts, oldest queued age, sender state.

One function, `mail_status()`, read by the admin settings page and by /healthz,
so both always tell the same story. Values are plain JSON types.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.mail import outbox
from app.mail.models import SenderState

# A sender heartbeats at least every poll interval (at most every 5 s) while idle:
# three missed beats and it is presumed dead.
MISSED_BEATS = 3
MIN_BEAT_SECONDS = 5.0


def mail_status() -> dict:
    """counts, oldest_queued_age_s, senders, senders_alive, last_transport_error."""
    now = clock.utcnow()
    window = alive_window()
    states = db.session.scalars(select(SenderState).order_by(SenderState.name)).all()
    senders = [describe_sender(state, now, window) for state in states]
    latest = latest_error(states)
    return {
        "counts": outbox.counts(),
        "oldest_queued_age_s": _round(outbox.oldest_queued_age()),
        "senders": senders,
        "senders_alive": any(s["alive"] for s in senders),
        "last_transport_error": latest.last_error if latest else None,
        "last_transport_error_at": iso(latest.last_error_at) if latest else None,
    }


def alive_window() -> timedelta:
    poll = float(current_app.config.get("MAIL_POLL_INTERVAL") or 0)
    return timedelta(seconds=MISSED_BEATS * max(poll, MIN_BEAT_SECONDS))


def describe_sender(state: SenderState, now: datetime, window: timedelta) -> dict:
    heartbeat_age = now - state.heartbeat_at
    backing_off = state.backoff_until is not None and state.backoff_until > now
    # A sender waiting out a transport backoff does not beat; it is alive until the
    # backoff (plus the usual allowance) has passed.
    alive = heartbeat_age <= window or (
        state.backoff_until is not None and now <= state.backoff_until + window
    )
    return {
        "name": state.name,
        "host": state.host,
        "pid": state.pid,
        "alive": alive,
        "heartbeat_age_s": _round(heartbeat_age.total_seconds()),
        "sent_count": state.sent_count,
        "last_error": state.last_error,
        "last_error_at": iso(state.last_error_at),
        "backoff_until": iso(state.backoff_until) if backing_off else None,
    }


def latest_error(states: list[SenderState]) -> SenderState | None:
    failed = [s for s in states if s.last_error and s.last_error_at]
    return max(failed, key=lambda s: s.last_error_at, default=None)


def iso(moment: datetime | None) -> str | None:
    # Stored naive UTC; say so in the text.
    return moment.replace(microsecond=0).isoformat() + "Z" if moment else None


def _round(seconds: float | None) -> float | None:
    return round(seconds, 1) if seconds is not None else None
