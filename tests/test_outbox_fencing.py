"""Every change of a claimed row is fenced by its claim: a sender whose lease ran out and
was taken over changes nothing, and a slow send renews its lease so that no other sender
takes the message while it is still being sent."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select, update

from app import clock
from app.extensions import db
from app.mail import claims, sent_marks
from app.mail.db_clock import utc_now
from app.mail.models import DeliveryAttempt, OutboxMessage
from app.mail.sender import stop_senders
from app.mail.transport import RETRY, DeliveryError, Reply
from tests.conftest import wait_for
from tests.outbox_helpers import queue, stored
from tests.smtp_server import RawSmtpServer

LEASE = timedelta(seconds=60)


def lapse(app, row_id) -> None:
    """The claim's lease ran out (by the database's clock), as it does for a stuck sender."""
    with app.app_context():
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == row_id).values(lease_until=utc_now(-1))
        )
        db.session.commit()


def attempts_of(app, row_id) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(DeliveryAttempt.outcome, DeliveryAttempt.sender_name).where(
                DeliveryAttempt.outbox_id == row_id
            )
        )
        return [tuple(row) for row in rows]


def test_a_sender_whose_claim_was_taken_over_changes_nothing(app):
    (row_id,) = queue(app, "ada@example.com")
    with app.app_context():
        (first,) = claims.claim_due("first", 10, LEASE)
    lapse(app, row_id)
    with app.app_context():
        (second,) = claims.claim_due("second", 10, LEASE)
        assert second.claim_generation == first.claim_generation + 1
        busy = DeliveryError(RETRY, "421 4.3.0 busy", 421)
        started = clock.utcnow()
        # The first sender's attempt finally ends, one way or another: none of it is written.
        assert not claims.mark_failure(first, busy, "relay:25", started, "first")
        assert not claims.close_unsent(first, "first", "expired", "too late")
        claims.release({first.id: first.claim_generation}, "first")
        assert claims.renew({first.id: first.claim_generation}, "first", LEASE) == set()
        with sent_marks.held_for_claim() as marks:
            assert not marks.mark(first, Reply(250, "ok"), "relay:25", started, "first")
    row = stored(app, row_id)
    assert (row.status, row.lease_owner, row.attempts) == ("sending", "second", 0)
    assert row.claim_generation == second.claim_generation
    assert attempts_of(app, row_id) == []
    # The same sender name with the claim's old generation is fenced out too.
    with app.app_context():
        assert claims.renew({row_id: first.claim_generation}, "second", LEASE) == set()
        assert claims.renew({row_id: second.claim_generation}, "second", LEASE) == {row_id}
        with sent_marks.held_for_claim() as marks:
            assert marks.mark(second, Reply(250, "ok"), "relay:25", started, "second")
    assert stored(app, row_id).status == "sent"
    assert attempts_of(app, row_id) == [("sent", "second")]


def test_a_send_slower_than_its_lease_is_delivered_once_with_two_senders(make_app, senders):
    # Every reply takes 0.42 s, 0.18 s under MAIL_TIMEOUT (the margin a noisy CI needs to
    # hear each reply in time; before, 0.9 s under 1 s kept 0.1 s): a message on a fresh
    # connection takes six replies, at least 2.52 s, beyond the 2.4 s lease (4 x MAIL_TIMEOUT).
    # The server's delays are floors, so no load on the machine makes the send fit the lease.
    server = RawSmtpServer(delay=0.42)
    try:
        first = make_app(MAIL_PORT=server.port, MAIL_TIMEOUT=0.6)
        second = make_app(MAIL_PORT=server.port, MAIL_TIMEOUT=0.6)
        ids = queue(first, "ada@example.com", "bob@example.com")
        senders(first)
        wait_for(lambda: server.connections)  # the first sender holds both messages now
        senders(second)
        wait_for(lambda: all(stored(first, i).status == "sent" for i in ids), timeout=60)
        for app in (first, second):  # each finishes what it has in hand
            stop_senders(app, timeout=30)
    finally:
        server.stop()
    expected = {stored(first, i).message_id for i in ids}
    received = Counter(m.message_id for m in server.messages)
    assert received == Counter(expected)
    assert {len(attempts_of(first, i)) for i in ids} == {1}
