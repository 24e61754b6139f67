"""Failures, classified as the SMTP server shows them: 4xx and dropped links retry with the
same Message-ID, 5xx and unencodable mail fail at once, very old mail gives up, and a
server that never answers costs MAIL_TIMEOUT, never the sender."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app import clock
from app.extensions import db
from app.mail.models import DeliveryAttempt, SenderState
from app.mail.sender import stop_senders
from app.mail.sender_record import SenderRecord
from tests.conftest import wait_for
from tests.outbox_helpers import queue, stored
from tests.smtp_server import SmtpServer

BUSY = "421 4.3.0 Try again later"


def attempts_of(app, row_id) -> list[tuple[str, int | None]]:
    with app.app_context():
        rows = db.session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.outbox_id == row_id)
            .order_by(DeliveryAttempt.id)
        )
        return [(a.outcome, a.smtp_code) for a in rows]


def sender_errors(app) -> list[str]:
    with app.app_context():
        return [s.last_error for s in db.session.scalars(select(SenderState)) if s.last_error]


def test_421_three_times_then_accepted_is_delivered_once_with_one_message_id(
    make_app, make_smtp, senders
):
    smtp = make_smtp(faults=[BUSY] * 3)
    app = make_app(MAIL_PORT=smtp.port)
    (row_id,) = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "sent")
    row = stored(app, row_id)
    assert len(smtp.messages) == 1
    assert [m.message_id for m in smtp.handler.offered] == [row.message_id] * 4
    assert attempts_of(app, row_id) == [("retry", 421)] * 3 + [("sent", 250)]
    assert row.attempts == 4


def test_550_at_rcpt_fails_after_exactly_one_attempt(app, smtp, senders):
    smtp.handler.rcpt_faults.append("550 5.1.1 <ada@example.com>: Recipient address rejected")
    ada, bob = queue(app, "ada@example.com", "bob@example.com")
    senders(app)
    wait_for(lambda: stored(app, ada).status == "failed" and stored(app, bob).status == "sent")
    row = stored(app, ada)
    assert row.attempts == 1
    assert "550" in row.last_error
    assert attempts_of(app, ada) == [("failed", 550)]
    # The refused transaction left the connection usable for the next message.
    assert [m.rcpt_tos for m in smtp.messages] == [["bob@example.com"]]


def test_a_dropped_connection_is_retried_and_delivered(make_app, make_smtp, senders):
    smtp = make_smtp(faults=["drop"])
    app = make_app(MAIL_PORT=smtp.port)
    (row_id,) = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "sent")
    assert [outcome for outcome, _ in attempts_of(app, row_id)] == ["retry", "sent"]
    assert len(smtp.messages) == 1


def test_mail_max_attempts_gives_up_as_failed(make_app, make_smtp, senders):
    smtp = make_smtp(faults=[BUSY] * 5)
    app = make_app(MAIL_PORT=smtp.port, MAIL_MAX_ATTEMPTS=2)
    (row_id,) = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "failed")
    row = stored(app, row_id)
    assert row.attempts == 2
    assert row.last_error.startswith("gave up after 2 attempts: 421")
    assert smtp.handler.attempts == 2


def test_mail_still_undelivered_after_mail_give_up_after_fails(app, smtp, senders, monkeypatch):
    (row_id,) = queue(app, "ada@example.com")
    real_now = clock.utcnow
    monkeypatch.setattr(clock, "utcnow", lambda: real_now() + timedelta(days=4))
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "failed")
    assert stored(app, row_id).last_error.startswith("gave up")
    assert smtp.handler.attempts == 0


def test_non_ascii_local_part_to_a_server_without_smtputf8_fails_at_once(app, smtp, senders):
    (row_id,) = queue(app, "mıke@example.org")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "failed")
    row = stored(app, row_id)
    assert row.attempts == 1
    assert "SMTPUTF8" in row.last_error
    assert smtp.handler.attempts == 0


def test_non_ascii_local_part_is_delivered_by_a_server_with_smtputf8(make_app, make_smtp, senders):
    smtp = make_smtp(smtputf8=True)
    app = make_app(MAIL_PORT=smtp.port)
    (row_id,) = queue(app, "mıke@example.org")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "sent")
    assert smtp.messages[0].rcpt_tos == ["mıke@example.org"]
    assert smtp.messages[0].message["To"] == "mıke@example.org"


def test_a_silent_server_costs_one_timeout_while_other_senders_deliver(
    make_app, make_smtp, silent_smtp, senders
):
    working = make_smtp()
    stuck = make_app(MAIL_PORT=silent_smtp.port, MAIL_TIMEOUT=0.5)
    # Another process's app on the same database, pointed at a server that works.
    other = make_app(MAIL_PORT=working.port)
    ids = queue(stuck, *[f"user{i}@example.com" for i in range(5)])
    pool = senders(stuck)
    wait_for(lambda: silent_smtp.connections)  # the stuck sender holds every claim now
    senders(other)
    wait_for(lambda: len(working.messages) == 5)
    wait_for(lambda: all(stored(stuck, i).status == "sent" for i in ids))
    assert any("timed out" in e for e in sender_errors(stuck))
    assert all(stored(stuck, i).attempts == 1 for i in ids)  # timeouts spent none
    stop_senders(stuck, timeout=5)
    assert not any(s.is_alive() for s in pool.senders)


def test_a_sender_stuck_on_a_silent_server_delivers_once_the_server_answers(
    make_app, silent_smtp, senders
):
    app = make_app(MAIL_PORT=silent_smtp.port, MAIL_TIMEOUT=0.5)
    ids = queue(app, "ada@example.com", "bob@example.com")
    senders(app)
    wait_for(lambda: any("timed out" in e for e in sender_errors(app)))
    assert all(stored(app, i).attempts == 0 for i in ids)
    # The same port starts answering: the same sender thread, not a new one, drains the queue.
    silent_smtp.stop()
    server = SmtpServer(port=silent_smtp.port)
    try:
        wait_for(lambda: len(server.messages) == 2)
        wait_for(lambda: all(stored(app, i).status == "sent" for i in ids))
    finally:
        server.stop()


def test_a_database_error_at_start_does_not_kill_the_sender(app, smtp, senders, monkeypatch):
    real_register, calls = SenderRecord.register, []

    def flaky_register(self):
        calls.append(self.name)
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, RuntimeError("database is starting up"))
        return real_register(self)

    monkeypatch.setattr(SenderRecord, "register", flaky_register)
    queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: smtp.messages)
    assert len(calls) == 2


@pytest.mark.parametrize("tls", [None, "starttls"])
def test_a_connection_the_server_closed_while_idle_costs_no_attempt(
    make_app, make_smtp, senders, caplog, certs, tls
):
    caplog.set_level(logging.INFO, logger="mail.log")  # the test server's own log
    smtp = make_smtp(idle_timeout=0.3, tls=tls, cert=certs.trusted)
    # A retry would wait half a minute: the second message must not need one.
    app = make_app(
        MAIL_PORT=smtp.port,
        MAIL_USE_TLS=bool(tls),
        MAIL_CA_FILE=certs.ca_path,
        MAIL_RETRY_BASE=30,
        MAIL_RETRY_MAX=60,
    )
    (first,) = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: stored(app, first).status == "sent")
    wait_for(lambda: any("connection timeout" in r.getMessage() for r in caplog.records))
    (second,) = queue(app, "bob@example.com")
    wait_for(lambda: stored(app, second).status == "sent", timeout=5)
    assert attempts_of(app, second) == [("sent", 250)]


def test_an_internationalised_domain_is_delivered_without_smtputf8(app, smtp, senders):
    (row_id,) = queue(app, "ada@bücher.example")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "sent")
    got = smtp.messages[0]
    assert got.rcpt_tos == ["ada@xn--bcher-kva.example"]
    assert got.message["To"] == "ada@xn--bcher-kva.example"
    assert stored(app, row_id).recipient == "ada@bücher.example"
