"""A sender's row in mail_sender: registration, heartbeat, sent count and transport health.

/healthz and the admin page read these rows (status.py). A row is written at most once a
heartbeat, never once a message: sent counts wait for the next beat.
"""

from __future__ import annotations

import os
import socket
import time

from sqlalchemy import delete

from app import clock
from app.extensions import db
from app.mail.models import SenderState

# A sender beats at least this often while it works or idles (status.py allows three).
MAX_BEAT_SECONDS = 5.0


class SenderRecord:
    def __init__(self, name: str, poll: float):
        self.name = name
        self.beat_every = min(poll, MAX_BEAT_SECONDS)
        self.registered = False
        self.last_saved = 0.0
        self.unsaved_sent = 0

    def register(self) -> None:
        db.session.merge(SenderState(name=self.name, host=socket.gethostname(), pid=os.getpid()))
        db.session.commit()
        self.registered = True
        self.last_saved = time.monotonic()

    def beat(self) -> None:
        if time.monotonic() - self.last_saved >= self.beat_every:
            self.save()

    def save(self, **changes) -> None:
        state = db.session.get(SenderState, self.name) or SenderState(
            name=self.name, host=socket.gethostname(), pid=os.getpid(), sent_count=0
        )
        state.heartbeat_at = clock.utcnow()
        state.sent_count += self.unsaved_sent
        self.unsaved_sent = 0
        for key, value in changes.items():
            setattr(state, key, value)
        db.session.add(state)
        db.session.commit()
        self.last_saved = time.monotonic()

    def remove(self) -> None:
        db.session.execute(delete(SenderState).where(SenderState.name == self.name))
        db.session.commit()
