"""Mail events: one log line each, and waking this process's senders after a commit.

An enqueue is only real once its transaction commits, so "queued" is logged
and the senders are woken from `after_commit`, never before; a rollback
forgets it. Log lines carry the Message-ID and a masked address, never a body,
link, token or password. Listeners (`subscribe`: the metrics) hear every event too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import NamedTuple

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger("mailroom.mail")
_PENDING = "mailroom.enqueued"
# (event, row or None, facts): called after the event is real; a listener never blocks mail.
Listener = Callable[[str, object, dict], None]
_listeners: list[Listener] = []


class _Snapshot(NamedTuple):
    event: str
    message_id: str
    recipient: str
    template: str
    detail: str | None
    # What a listener may want beyond the log line: the SMTP code, the send's seconds.
    facts: tuple = ()


def subscribe(listener: Listener) -> None:
    """Hear every mail event from now on (once per listener, however often subscribed)."""
    if listener not in _listeners:
        _listeners.append(listener)


def notify(name: str, row=None, **facts) -> None:
    for listener in _listeners:
        try:
            listener(name, row, facts)
        except Exception:  # noqa: BLE001 - counting must never stop the mail
            log.exception("mail event listener failed on %s", name)


def mask(address: str) -> str:
    """j***@example.com: enough to tell messages apart in a log, not to harvest."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"


def _masked_in(text: str, address: str) -> str:
    # Most replies ("250 2.0.0 Ok: queued") do not quote the address: skip the regex, which
    # would be compiled anew for every address (a drain's hottest line of our own code).
    if address.lower() not in text.lower():
        return text
    return re.sub(re.escape(address), mask(address), text, flags=re.IGNORECASE)


def log_event(name: str, row, detail: str | None = None, **facts) -> None:
    """One line for one event of one message (`row` is anything with its fields)."""
    # SMTP replies often quote the recipient ("550 <ada@example.com> unknown"): mask it there too.
    extra = f" ({_masked_in(detail, row.recipient)})" if detail else ""
    log.info(
        "mail %s message_id=%s to=%s template=%s%s",
        name,
        row.message_id,
        mask(row.recipient),
        row.template,
        extra,
    )
    if _listeners:
        notify(name, row, detail=detail, **facts)


def snapshot(event_name: str, row, detail: str | None = None, **facts) -> _Snapshot:
    """Take what a log line needs before a commit expires the row's attributes."""
    return _Snapshot(
        event_name, row.message_id, row.recipient, row.template, detail, tuple(facts.items())
    )


def log_snapshot(snap: _Snapshot) -> None:
    log_event(snap.event, snap, snap.detail, **dict(snap.facts))


def note_enqueued(session: Session, row, requeued: bool = False) -> None:
    name = "requeued" if requeued else row.status
    session.info.setdefault(_PENDING, []).append(snapshot(name, row, row.last_error))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    for snap in pending:
        log_snapshot(snap)
    if has_app_context():
        wake = current_app.extensions.get("mailroom.wake")
        if wake is not None:
            wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
