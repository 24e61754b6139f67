"""Sender threads: drain the outbox over one kept-open SMTP connection each.

A pool belongs to one process (it remembers its pid: threads do not survive a
fork). Senders wake at once after a commit in this process and poll otherwise.
On stop, the message in hand finishes and every other claim is handed back.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from datetime import timedelta
from email.utils import parseaddr
from functools import cache

from flask import Flask
from sqlalchemy import delete

from app import clock
from app.extensions import db
from app.mail import outbox, sent_marks
from app.mail.models import OutboxMessage, SenderState
from app.mail.transport import TRANSPORT, DeliveryError, SmtpTransport

log = logging.getLogger("mailroom.mail")
POOL_KEY = "mailroom.senders"
# An SMTP server may drop a connection it has not heard from for a while: check first.
NOOP_AFTER_IDLE = 10.0
# Servers commonly close idle sessions after a few minutes; leave before they do.
CLOSE_AFTER_IDLE = 60.0
# A claim holds about this much sending. Against a fast server that is MAIL_BATCH_SIZE rows
# (few claim queries); against a slow one (200 ms a message) one row at a time, so that no
# sender, here or in another process, sits idle while one works through a big batch.
CLAIM_SECONDS = 0.25


class Sender(threading.Thread):
    def __init__(self, app: Flask, index: int, pool_size: int = 1):
        name = f"{socket.gethostname()}:{os.getpid()}:{index}"
        super().__init__(name=f"mail-sender-{index}", daemon=True)
        self.app, self.owner = app, name
        self.wakeup, self.stopping = threading.Event(), threading.Event()
        cfg = app.config
        self.poll = cfg["MAIL_POLL_INTERVAL"]
        self.batch = cfg["MAIL_BATCH_SIZE"]
        self.seconds_per_message: float | None = None  # learnt while sending
        # Until that is known, a lone sender takes a whole batch; the threads of a pool take
        # one message each, so that none of them is left without work by the others.
        self.first_claim = self.batch if pool_size == 1 else 1
        # DESIGN: a dead sender's messages go out elsewhere within 4 x MAIL_TIMEOUT + poll.
        self.lease = timedelta(seconds=4 * cfg["MAIL_TIMEOUT"])
        self.give_up = timedelta(seconds=cfg["MAIL_GIVE_UP_AFTER"])
        self.transport_failures = 0
        self.last_used = 0.0
        self.last_heartbeat = 0.0
        self.registered = False
        # Sent counts reach SenderState with the heartbeat: not one extra write per message.
        self.unsaved_sent = 0

    def run(self) -> None:
        with self.app.app_context():
            self.transport = SmtpTransport()
            try:
                while not self.stopping.is_set():
                    self._step()
            finally:
                self._shut_down()

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.set()

    def _step(self) -> None:
        try:
            if not self.registered:
                # Inside the guard: a database not reachable yet must not kill the thread.
                self._register()
            claimed = outbox.claim_due(self.owner, self._claim_size(), self.lease)
            if claimed:
                self._deliver(claimed)
            else:
                self._idle()
        except Exception:  # noqa: BLE001 - a database blip must not kill the sender
            log.exception("mail sender %s: unexpected error; retrying shortly", self.owner)
            db.session.rollback()
            self.stopping.wait(min(self.poll, 5))

    def _deliver(self, claimed: list[outbox.Claimed]) -> None:
        with sent_marks.held_for_claim() as marks:
            link_error = self._deliver_claimed(claimed, marks)
        if link_error:
            self._back_off(link_error)  # outside: no connection is held while waiting
            return
        self._transport_ok()
        self._heartbeat()

    def _deliver_claimed(
        self, claimed: list[outbox.Claimed], marks: sent_marks.SentMarks
    ) -> DeliveryError | None:
        """Send what is still ours; on a link failure hand the rest back and return it."""
        held = {mail.id for mail in claimed}
        renew_at = time.monotonic() + self.lease.total_seconds() / 2

        def rest(position: int) -> list[int]:
            return [m.id for m in claimed[position:] if m.id in held]

        for position, mail in enumerate(claimed):
            if self.stopping.is_set():
                outbox.release(rest(position), self.owner)
                return None
            if time.monotonic() > renew_at:
                # Half the lease gone: renew the rest in one UPDATE. Until then the lease
                # cannot have run out, so no other sender can hold these messages.
                held = outbox.extend_lease(rest(position), self.owner, self.lease)
                renew_at = time.monotonic() + self.lease.total_seconds() / 2
            if mail.id not in held:
                continue  # our lease ran out and another sender took it: it is theirs to send
            started = time.monotonic()
            try:
                self._deliver_one(mail, marks)
            except DeliveryError as error:
                # The link itself failed: hand everything back.
                outbox.release(rest(position), self.owner, reason=error.reason)
                return error
            self._learn_speed(time.monotonic() - started)
        return None

    def _deliver_one(self, mail: outbox.Claimed, marks: sent_marks.SentMarks) -> None:
        started = clock.utcnow()
        verdict = outbox.verdict_before_send(mail, started, self.give_up)
        if verdict:
            outbox.close_unsent(mail, *verdict)
            return
        if time.monotonic() - self.last_used > NOOP_AFTER_IDLE:
            self.transport.drop_if_stale()
        relay = self.transport.settings.relay
        try:
            reply = self.transport.send(
                _envelope_from(mail.sender), mail.recipient, mail.mime, mail.smtputf8
            )
        except DeliveryError as error:
            if error.kind == TRANSPORT:
                raise
            row = db.session.get(OutboxMessage, mail.id)
            outbox.mark_failure(row, error, relay, started, self.owner)
        else:
            marks.mark(mail, reply, relay, started, self.owner)
            self.unsaved_sent += 1
        self.last_used = time.monotonic()

    def _claim_size(self) -> int:
        if self.seconds_per_message is None:
            return self.first_claim
        fits = int(CLAIM_SECONDS / max(self.seconds_per_message, 0.001))
        return max(1, min(self.batch, fits))

    def _learn_speed(self, seconds: float) -> None:
        known = self.seconds_per_message
        self.seconds_per_message = seconds if known is None else 0.7 * known + 0.3 * seconds

    def _idle(self) -> None:
        if self.transport.connected and time.monotonic() - self.last_used > CLOSE_AFTER_IDLE:
            self.transport.close()
        self._heartbeat()
        self.wakeup.wait(self.poll)
        self.wakeup.clear()

    def _back_off(self, error: DeliveryError) -> None:
        self.transport.close()
        self.transport_failures += 1
        cap = self.app.config["MAIL_TRANSPORT_BACKOFF_MAX"]
        delay = min(cap, 2 ** (self.transport_failures - 1)) * random.uniform(0.75, 1.0)
        until = clock.utcnow() + timedelta(seconds=delay)
        log.warning(
            "mail transport %s failed: %s; retrying in %.1fs",
            self.transport.settings.relay,
            error.reason,
            delay,
        )
        self._save_state(last_error=error.reason, last_error_at=clock.utcnow(), backoff_until=until)
        self.stopping.wait(delay)

    def _transport_ok(self) -> None:
        if self.transport_failures:
            self.transport_failures = 0
            self._save_state(backoff_until=None)

    def _register(self) -> None:
        db.session.merge(SenderState(name=self.owner, host=socket.gethostname(), pid=os.getpid()))
        db.session.commit()
        self.registered = True
        self.last_heartbeat = time.monotonic()

    def _heartbeat(self) -> None:
        if time.monotonic() - self.last_heartbeat >= min(self.poll, 5):
            self._save_state()

    def _save_state(self, **changes) -> None:
        state = db.session.get(SenderState, self.owner) or SenderState(
            name=self.owner, host=socket.gethostname(), pid=os.getpid(), sent_count=0
        )
        state.heartbeat_at = clock.utcnow()
        state.sent_count += self.unsaved_sent
        self.unsaved_sent = 0
        for key, value in changes.items():
            setattr(state, key, value)
        db.session.add(state)
        db.session.commit()
        self.last_heartbeat = time.monotonic()

    def _shut_down(self) -> None:
        try:
            self.transport.close()
            db.session.rollback()
            outbox.release_all(self.owner)
            db.session.execute(delete(SenderState).where(SenderState.name == self.owner))
            db.session.commit()
        except Exception:  # noqa: BLE001 - leases expire anyway; never hang a shutdown
            log.exception("mail sender %s: could not hand back its claims", self.owner)
        finally:
            db.session.remove()


@cache
def _envelope_from(sender: str) -> str:
    # Every message of an app has the same sender: parse it once.
    return parseaddr(sender)[1]


class SenderPool:
    """This process's sender threads."""

    def __init__(self, app: Flask, threads: int):
        self.pid = os.getpid()
        self.senders = [Sender(app, i, pool_size=threads) for i in range(threads)]

    def start(self) -> None:
        for sender in self.senders:
            sender.start()

    def wake(self) -> None:
        for sender in self.senders:
            sender.wakeup.set()

    def stop(self, timeout: float) -> None:
        for sender in self.senders:
            sender.stop()
        deadline = time.monotonic() + timeout
        for sender in self.senders:
            sender.join(max(0.0, deadline - time.monotonic()))

    def alive(self) -> bool:
        return bool(self.senders) and all(s.is_alive() for s in self.senders)


_start_lock = threading.Lock()


def start_senders(app: Flask, threads: int | None = None) -> SenderPool | None:
    """Start this process's senders once (again after a fork: the pid tells)."""
    running = current_pool(app)
    if running is not None:
        return running  # every request asks: answer without taking the lock
    count = app.config["MAIL_SENDER_THREADS"] if threads is None else threads
    with _start_lock:
        pool = app.extensions.get(POOL_KEY)
        if pool is not None and pool.pid == os.getpid():
            return pool
        if count <= 0:
            return None
        # A connection inherited across a fork is shared with the parent: never reuse it.
        with app.app_context():
            db.engine.dispose(close=False)
        pool = SenderPool(app, count)
        app.extensions[POOL_KEY] = pool
        app.extensions["mailroom.wake"] = pool.wake
        pool.start()
        log.info("mail senders started: %d thread(s) in pid %d", count, pool.pid)
        return pool


def stop_senders(app: Flask, timeout: float | None = None) -> None:
    """Finish the message in hand, hand back the rest, and wait for the threads."""
    pool = app.extensions.get(POOL_KEY)
    if pool is None or pool.pid != os.getpid():
        return
    app.extensions.pop("mailroom.wake", None)
    wait = timeout if timeout is not None else 4 * app.config["MAIL_TIMEOUT"] + 1
    pool.stop(wait)
    app.extensions.pop(POOL_KEY, None)
    log.info("mail senders stopped in pid %d", pool.pid)


def current_pool(app: Flask) -> SenderPool | None:
    pool = app.extensions.get(POOL_KEY)
    return pool if pool is not None and pool.pid == os.getpid() else None
