"""`flask mail worker` as real processes: one killed with SIGKILL mid-send loses nothing
and duplicates only what was in flight; two on PostgreSQL share one outbox exactly once."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from email.utils import make_msgid

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.mail import outbox, send_email
from app.mail.compose import compose
from app.mail.models import DeliveryAttempt, OutboxMessage, SenderState
from tests.conftest import base_config, wait_for
from tests.outbox_workers import worker_pool

pytestmark = pytest.mark.slow


@pytest.fixture
def workers(tmp_path):
    with worker_pool(tmp_path) as start:
        yield start


def queue_many(app, count: int) -> dict[str, str]:
    """Queue `count` messages, one per address; returns {address: Message-ID}."""
    with app.app_context():
        rows = [send_email(f"user{i}@example.com", "test_email") for i in range(count)]
        db.session.commit()
        return {row.recipient: row.message_id for row in rows}


def queue_copies(app, count: int) -> dict[str, str]:
    """Like queue_many, faster: composes one message and enqueues copies with their own
    address and Message-ID (composing a thousand would take most of the test's time)."""
    with app.app_context():
        model = compose("user0@example.com", "test_email")
        rows = [outbox.enqueue(model)]
        for i in range(1, count):
            address, message_id = f"user{i}@example.com", make_msgid(domain="mailroom.example")
            mime = model.mime.replace(model.message_id.encode(), message_id.encode())
            mime = mime.replace(model.recipient.encode(), address.encode())
            copy = replace(model, recipient=address, message_id=message_id, mime=mime)
            rows.append(outbox.enqueue(copy))
        db.session.commit()
        return {row.recipient: row.message_id for row in rows}


def statuses(app) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.recipient, OutboxMessage.status)).all()
        return dict(rows)


def test_a_killed_worker_loses_nothing_and_duplicates_only_what_was_in_flight(
    make_app, make_smtp, database_url, workers
):
    smtp = make_smtp(delay=0.2)  # each message is in flight for a while
    app = make_app(MAIL_PORT=smtp.port)
    expected = queue_many(app, 20)
    # A small timeout makes the lease short (4 x MAIL_TIMEOUT, 2.4 s): the restart need not
    # wait long. It stays three times the server's delay (0.4 s to spare on a busy CI), so no
    # reply is taken for a timeout.
    settings = {"MAIL_TIMEOUT": 0.6, "MAIL_BATCH_SIZE": 5}
    first = workers(database_url, smtp.port, **settings)
    wait_for(
        lambda: len(smtp.messages) >= 3 and smtp.handler.attempts > len(smtp.messages),
        timeout=60,
    )
    first.kill()
    at_kill = statuses(app)
    in_flight = {address for address, status in at_kill.items() if status == "sending"}
    assert in_flight and "queued" in at_kill.values()
    # The slow replies did their part (a send was in flight at the kill): the rest go out at
    # full speed, so the wait is the killed worker's lease, not 0.2 s a message.
    smtp.handler.delay = 0

    second = workers(database_url, smtp.port, **settings)
    wait_for(lambda: set(statuses(app).values()) == {"sent"}, timeout=90)
    received = Counter(m.rcpt_tos[0] for m in smtp.messages)
    assert set(received) == set(expected)
    duplicated = {address for address, n in received.items() if n > 1}
    assert duplicated <= in_flight
    for message in smtp.messages:
        assert message.message_id == expected[message.rcpt_tos[0]]

    assert second.stop() == 0
    assert "handing back the rest" in second.output()
    with app.app_context():
        # The stopped worker signed off; only the killed one's rows are left, to go stale.
        pids = {state.pid for state in db.session.scalars(select(SenderState))}
    assert pids == {first.process.pid}


@pytest.fixture
def pg_app(postgres_url, make_smtp):
    app = create_app(base_config(postgres_url))
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_two_workers_on_postgresql_deliver_a_thousand_messages_exactly_once(
    pg_app, postgres_url, make_smtp, workers
):
    smtp = make_smtp()
    pair = [workers(postgres_url, smtp.port, MAIL_TIMEOUT=5) for _ in range(2)]

    def live_processes():
        with pg_app.app_context():
            return {s.pid for s in db.session.scalars(select(SenderState))}

    wait_for(lambda: len(live_processes()) == 2, timeout=60)
    expected = queue_copies(pg_app, 1000)
    with pg_app.app_context():
        wait_for(lambda: outbox.counts()["sent"] == 1000 or db.session.rollback(), timeout=120)
        senders = db.session.scalars(select(DeliveryAttempt.sender_name)).all()
    received = Counter(m.message_id for m in smtp.messages)
    assert set(received) == set(expected.values())
    assert set(received.values()) == {1}
    assert Counter(m.rcpt_tos[0] for m in smtp.messages) == Counter(list(expected))
    assert len(senders) == 1000
    # Both processes took part (owner names are host:pid:thread).
    assert len({name.split(":")[1] for name in senders}) == 2
    assert [worker.stop() for worker in pair] == [0, 0]
