"""Sender threads: drain the outbox over one kept-open SMTP connection each.

A pool belongs to one process (it remembers its pid: threads do not survive a
fork). Senders wake at once after a commit in this process and poll otherwise.
On stop, the message in hand finishes and every other claim is handed back.
A delivered message is never handed back: its sent-mark is retried until written.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from datetime import timedelta
from email.utils import parseaddr
from functools import cache

from flask import Flask

from app import clock
from app.extensions import db
from app.mail import claims, outbox, relays, sent_marks
from app.mail.held_claim import HeldClaim
from app.mail.sender_record import SenderRecord
from app.mail.transport import TRANSPORT, DeliveryError, Withdrawn

log = logging.getLogger("mailroom.mail")
POOL_KEY = "mailroom.senders"
# Functions other parts of the app run before each claim (no arguments, app context, each
# its own transaction): e.g. turning "a mail was asked for" records into outbox rows.
BEFORE_CLAIM_KEY = "mailroom.before_claim"
# An SMTP server may drop a connection it has not heard from for a while: check first.
NOOP_AFTER_IDLE = 10.0
# Servers commonly close idle sessions after a few minutes; leave before they do.
CLOSE_AFTER_IDLE = 60.0
# A claim holds about this much sending. Against a fast server that is MAIL_BATCH_SIZE rows
# (few claim queries); against a slow one (200 ms a message) one row at a time, so that no
# sender, here or in another process, sits idle while one works through a big batch.
CLAIM_SECONDS = 0.25


def sender_identity(index: int) -> str:
    """host:pid:index for people, and a random part: two containers can share a host name
    and a pid, and must never renew or hand back each other's claims."""
    host = socket.gethostname()[:64]  # the name must fit lease_owner's 128 characters
    return f"{host}:{os.getpid()}:{index}:{secrets.token_hex(6)}"


class Sender(threading.Thread):
    def __init__(self, app: Flask, index: int, pool_size: int = 1):
        super().__init__(name=f"mail-sender-{index}", daemon=True)
        self.app, self.owner = app, sender_identity(index)
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
        self.record = SenderRecord(self.owner, self.poll)

    def run(self) -> None:
        with self.app.app_context():
            self.transport = relays.transport_for(self.app.config)
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
            if not self.record.registered:
                # Inside the guard: a database not reachable yet must not kill the thread.
                self.record.register()
            self._run_before_claim_hooks()
            claimed = claims.claim_due(self.owner, self._claim_size(), self.lease)
            if claimed:
                self._deliver(claimed)
            else:
                self._idle()
        except Exception:  # noqa: BLE001 - a database blip must not kill the sender
            log.exception("mail sender %s: unexpected error; retrying shortly", self.owner)
            db.session.rollback()
            self.stopping.wait(min(self.poll, 5))

    def _run_before_claim_hooks(self) -> None:
        """Work the app asks of its senders before each claim (app.auth turns requests for
        account mail into outbox rows here); one failing hook never stops the claim."""
        for hook in self.app.extensions.get(BEFORE_CLAIM_KEY, ()):
            try:
                hook()
            except Exception:  # noqa: BLE001 - logged; the claim that follows still runs
                log.exception("mail sender %s: before-claim hook failed", self.owner)
                db.session.rollback()

    def _deliver(self, claimed: list[claims.Claimed]) -> None:
        claim = HeldClaim(claimed, self.owner, self.lease)
        marks = None
        try:
            with sent_marks.held_for_claim() as marks:
                link_error = self._deliver_claimed(claim, marks)
        except Exception:
            # Nothing in the claim was delivered unrecorded (a delivered message is finished
            # only once marked): hand back the rest now rather than when the lease runs out.
            db.session.rollback()
            try:
                claim.hand_back()
            except Exception:  # noqa: BLE001 - the lease runs out anyway
                db.session.rollback()
            raise
        finally:
            if marks is not None:  # counted into the next heartbeat
                self.record.unsaved_sent += marks.written
        if link_error:
            self._back_off(link_error)  # outside: no connection is held while waiting
            return
        self._transport_ok()
        self.record.beat()

    def _deliver_claimed(
        self, claim: HeldClaim, marks: sent_marks.SentMarks
    ) -> DeliveryError | None:
        """Send what is still ours; on a link failure hand the rest back and return it."""
        for mail in claim.claimed:
            if self.stopping.is_set():
                claim.hand_back()
                return None
            claim.keep()
            if not claim.holds(mail.id):
                continue  # our lease ran out and another sender took it: it is theirs to send
            started = time.monotonic()
            try:
                self._deliver_one(mail, claim, marks)
            except DeliveryError as error:
                # The link itself failed: hand everything back.
                claim.hand_back(reason=error.reason)
                return error
            self._learn_speed(time.monotonic() - started)
        return None

    def _deliver_one(
        self, mail: claims.Claimed, claim: HeldClaim, marks: sent_marks.SentMarks
    ) -> None:
        started = clock.utcnow()
        verdict = outbox.verdict_before_send(mail, started, self.give_up)
        if verdict:
            claims.close_unsent(mail, self.owner, *verdict)
            claim.finished(mail.id)
            return
        if time.monotonic() - self.last_used > NOOP_AFTER_IDLE:
            self.transport.drop_if_stale()
        relay = self.transport.settings.relay
        try:
            reply = self.transport.send(
                _envelope_from(mail.sender),
                mail.recipient,
                mail.mime,
                mail.smtputf8,
                before_command=claim.keeper_for(mail.id),
                before_data=_settled_first(marks, claim, mail.id),
            )
        except Withdrawn as withdrawn:
            log.warning("mail sender %s: not sending: %s", self.owner, withdrawn)
            return
        except DeliveryError as error:
            if error.kind == TRANSPORT:
                raise
            relay = getattr(self.transport, "used_relay", relay)
            claims.mark_failure(mail, error, relay, started, self.owner)
            claim.finished(mail.id)
        else:
            relay = getattr(self.transport, "used_relay", relay)  # the fallback, maybe
            # Delivered: from here on it is only ever marked sent, never handed back.
            delivery = sent_marks.Delivery(mail, reply, relay, started, self.owner)
            marks.start(delivery, claim, self.stopping)
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
        self.record.beat()
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
        self.record.save(last_error=error.reason, last_error_at=clock.utcnow(), backoff_until=until)
        self.stopping.wait(delay)

    def _transport_ok(self) -> None:
        if self.transport_failures:
            self.transport_failures = 0
            self.record.save(backoff_until=None)

    def _shut_down(self) -> None:
        try:
            self.transport.close()
            db.session.rollback()
            self.record.remove()
        except Exception:  # noqa: BLE001 - never hang a shutdown
            log.exception("mail sender %s: could not sign off", self.owner)
        finally:
            db.session.remove()


def _settled_first(marks: sent_marks.SentMarks, claim: HeldClaim, row_id: int):
    """Before a message's DATA: the previous delivery's mark is written (the duplicate
    window stays one message), and this message is still ours to send."""

    def before_data() -> None:
        marks.settle()
        if not claim.holds(row_id):
            raise Withdrawn(f"outbox #{row_id} was handed back while a mark was retried")

    return before_data


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
