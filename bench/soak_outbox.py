"""The fault soak's side of the outbox: a PostgreSQL database of its own, the feeder that
enqueues the messages through the app while the senders work, and what the outbox holds at
the end (each message's status, its recorded sends, the attempts it took).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import Counter
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import create_engine, func, make_url, select, text

from app.extensions import db
from app.mail import send_email
from app.mail.models import QUEUED, SENDING, DeliveryAttempt, OutboxMessage, SenderState


class ScratchDatabase:
    """A database of the soak's own, on the PostgreSQL server `url` points at."""

    def __init__(self, url: str):
        if not url.startswith("postgresql"):
            raise SystemExit("the soak runs on PostgreSQL: --database-url postgresql+psycopg://…")
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self.name = f"mailroom_soak_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(url).set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


class Feeder(threading.Thread):
    """Enqueues `count` messages through the app (`send_email`) over `seconds`, a batch a
    second, each batch committed: the senders are busy all through the kills."""

    def __init__(self, app: Flask, count: int, seconds: float):
        super().__init__(name="soak-feeder", daemon=True)
        self.app, self.count = app, count
        self.batch = max(1, math.ceil(count / max(1.0, seconds)))
        self.error: BaseException | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            with self.app.app_context():
                for start in range(0, self.count, self.batch):
                    if self.stopping.is_set():
                        return
                    for i in range(start, min(self.count, start + self.batch)):
                        send_email(f"reader{i}@example.org", "test_email")
                    db.session.commit()
                    self.stopping.wait(1.0)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc


def registered_senders() -> int:
    """Sender threads that have registered (in an app context)."""
    count = db.session.scalar(select(func.count()).select_from(SenderState))
    db.session.rollback()
    return count


def unfinished() -> int:
    """Messages still queued or being sent (in an app context)."""
    query = select(func.count()).where(OutboxMessage.status.in_((QUEUED, SENDING)))
    count = db.session.scalar(query)
    db.session.rollback()
    return count


@dataclass(frozen=True)
class OutboxState:
    status: dict[str, str]  # Message-ID -> final status
    recorded: dict[str, int]  # Message-ID -> sends in its attempt log
    attempts: dict[int, int]  # attempts spent -> messages

    @property
    def statuses(self) -> dict[str, int]:
        return dict(Counter(self.status.values()))


def final_state() -> OutboxState:
    """What the outbox says once the soak is over (in an app context)."""
    sends = (
        select(OutboxMessage.message_id, func.count(DeliveryAttempt.id))
        .join(DeliveryAttempt, DeliveryAttempt.outbox_id == OutboxMessage.id)
        .where(DeliveryAttempt.outcome == "sent")
        .group_by(OutboxMessage.message_id)
    )
    spent = select(OutboxMessage.attempts, func.count()).group_by(OutboxMessage.attempts)
    rows = db.session.execute(select(OutboxMessage.message_id, OutboxMessage.status))
    state = OutboxState(
        status={message_id.strip(): status for message_id, status in rows},
        recorded={message_id.strip(): n for message_id, n in db.session.execute(sends)},
        attempts=dict(db.session.execute(spent).all()),
    )
    db.session.rollback()
    return state
