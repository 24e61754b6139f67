"""Outbox figures that cost the same at a hundred rows or a million: counts by status up to
a cap, the oldest message still waiting, whether due mail is overdue, and the senders.

/healthz and the admin pages read them. Each is a few index lookups, never a pass over the
table: `mail_status()` (app.mail.status) counts every row and grows with the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, literal, select

from app import clock
from app.extensions import db
from app.mail import status as mail_status
from app.mail.models import QUEUED, SENDING, STATUSES, OutboxMessage, SenderState

# Past this many, a count reads "10,000+": counting further costs more and says nothing new.
COUNT_CAP = 10_000
# The oldest waiting message is looked for among the first waiting rows by id: an admin
# retry gives a row a new created_at, so the lowest id is not always the oldest.
OLDEST_AMONG = 100
# Due mail that has waited this long past its time means the senders are not keeping up
# (or cannot send): a batch takes seconds, a transport backoff at most MAIL_TRANSPORT_BACKOFF_MAX.
QUEUE_LAG_LIMIT = timedelta(minutes=10)


@dataclass
class OutboxFigures:
    counts: dict[str, int]  # each at most COUNT_CAP
    oldest_waiting_age_s: float | None
    overdue: bool
    senders: list[dict]
    senders_alive: bool
    transport_failing: bool
    last_transport_error: str | None
    last_transport_error_at: str | None


def outbox_figures(counts: bool = True) -> OutboxFigures:
    """Everything; without `counts`, only what a verdict needs (no counts, no oldest age)."""
    states = sender_states()
    senders = describe(states)
    latest = mail_status.latest_error(states)
    alive = [s for s, d in zip(states, senders, strict=True) if d["alive"]]
    return OutboxFigures(
        counts=bounded_counts() if counts else {},
        oldest_waiting_age_s=oldest_waiting_age() if counts else None,
        overdue=due_mail_overdue(),
        senders=senders,
        senders_alive=bool(alive),
        # Cleared by the sender's next good connection: set means it is failing now.
        transport_failing=any(s.backoff_until is not None for s in alive),
        last_transport_error=latest.last_error if latest else None,
        last_transport_error_at=mail_status.iso(latest.last_error_at) if latest else None,
    )


def senders_alive() -> bool:
    return any(sender["alive"] for sender in describe(sender_states()))


def sender_states() -> list[SenderState]:
    return list(db.session.scalars(select(SenderState).order_by(SenderState.name)))


def describe(states: list[SenderState]) -> list[dict]:
    """Each sender as app.mail.status judges it (alive, heartbeat age...), so the admin page,
    /healthz and `flask mail` agree on who is alive."""
    now, window = clock.utcnow(), mail_status.alive_window()
    return [mail_status.describe_sender(state, now, window) for state in states]


def bounded_counts(cap: int = COUNT_CAP) -> dict[str, int]:
    """Rows per status, counting no further than `cap`: one statement, at most `cap` index
    entries read per status."""

    def up_to_cap(status: str):
        rows = select(literal(1)).where(OutboxMessage.status == status).limit(cap).subquery()
        return select(func.count()).select_from(rows).scalar_subquery().label(status)

    found = db.session.execute(select(*(up_to_cap(s) for s in STATUSES))).one()
    return dict(zip(STATUSES, found, strict=True))


def oldest_waiting_age() -> float | None:
    """Seconds since the oldest queued or sending message was enqueued, or None."""
    oldest = None
    for status in (QUEUED, SENDING):
        first = (
            select(OutboxMessage.created_at)
            .where(OutboxMessage.status == status)
            .order_by(OutboxMessage.id)
            .limit(OLDEST_AMONG)
            .subquery()
        )
        found = db.session.scalar(select(func.min(first.c.created_at)))
        if found is not None and (oldest is None or found < oldest):
            oldest = found
    return round((clock.utcnow() - oldest).total_seconds(), 1) if oldest else None


def due_mail_overdue() -> bool:
    """Whether a queued message has been due for longer than QUEUE_LAG_LIMIT. Within each
    priority the claim index keeps the earliest due first, so a late one is found at once."""
    late = clock.utcnow() - QUEUE_LAG_LIMIT
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at < late)
        .limit(1)
    )
    return db.session.scalar(query) is not None
