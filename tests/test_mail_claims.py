"""Sender threads share a slow server's work instead of one claiming a whole batch."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.mail import send_email
from app.mail.models import DeliveryAttempt
from tests.conftest import wait_for


def test_threads_of_a_pool_each_send_part_of_a_slow_servers_backlog(make_app, make_smtp, senders):
    smtp = make_smtp(delay=0.2)  # each message takes a while: a big claim would starve the rest
    app = make_app(MAIL_PORT=smtp.port, MAIL_BATCH_SIZE=20)
    with app.app_context():
        for i in range(9):
            send_email(f"reader{i}@example.com", "test_email")
        db.session.commit()
    senders(app, threads=3)
    wait_for(lambda: len(smtp.messages) == 9, timeout=30)
    with app.app_context():
        names = db.session.scalars(select(DeliveryAttempt.sender_name)).all()
    assert len(set(names)) == 3


def test_the_pool_lets_every_sender_hold_a_claim_connection_and_a_session_at_once(make_app):
    # A sender keeps a connection through each claim for its sent-marks and briefly takes
    # a second one for other writes; sixteen of them must not wait on the pool.
    app = make_app(MAIL_SENDER_THREADS=16)
    with app.app_context():
        held = [db.engine.connect() for _ in range(2 * 16)]
        for connection in held:
            connection.close()
