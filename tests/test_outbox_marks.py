"""A delivered message is recorded, never sent again because recording it failed: a
server's reply is stored safely (no NUL or control characters, bounded), and a sent-mark
the database refuses is retried with the row still claimed. Sensitive mail loses its body
when it is marked sent."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.mail import send_email
from app.mail.models import DeliveryAttempt
from app.mail.sender import stop_senders
from app.mail.smtp_failures import MAX_STORED_CHARS
from tests.conftest import wait_for
from tests.outbox_helpers import queue, stored
from tests.smtp_server import RawSmtpServer

CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\n"} | {"\x7f"}


@pytest.fixture
def raw_smtp():
    servers = []

    def start(**kwargs) -> RawSmtpServer:
        servers.append(RawSmtpServer(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def attempt_replies(app, row_id) -> list[tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(DeliveryAttempt.outcome, DeliveryAttempt.smtp_reply).where(
                DeliveryAttempt.outbox_id == row_id
            )
        )
        return [tuple(row) for row in rows]


def test_a_reply_with_a_nul_byte_is_stored_clean_and_the_mail_sent_once(
    make_app, raw_smtp, senders
):
    server = raw_smtp(data_reply=b"250 ok\x00\x1b[31m queued as 7F3A\x07")
    app = make_app(MAIL_PORT=server.port, MAIL_TIMEOUT=0.5)  # a 2 s lease
    (row_id,) = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "sent", timeout=15)
    row = stored(app, row_id)
    assert row.smtp_reply == "250 ok[31m queued as 7F3A"
    assert attempt_replies(app, row_id) == [("sent", "250 ok[31m queued as 7F3A")]
    assert len(server.messages) == 1


def test_a_huge_reply_is_stored_cut_to_a_bounded_length(make_app, raw_smtp, senders):
    # smtplib refuses a line past 8 KiB itself; twenty lines of 1,000 characters it takes.
    line = b"250-" + b"x\x00" * 500
    server = raw_smtp(data_reply=b"\r\n".join([line] * 20 + [b"250 ok"]))
    app = make_app(MAIL_PORT=server.port)
    (row_id,) = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "sent", timeout=15)
    reply = stored(app, row_id).smtp_reply
    assert reply.startswith("250 xxx") and reply.endswith("[cut]")
    assert len(reply) < MAX_STORED_CHARS + 10
    assert not CONTROL & set(reply)


REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_sent BEFORE UPDATE ON mail_outbox WHEN NEW.status = 'sent'"
        " BEGIN SELECT RAISE(ABORT, 'refused for a while'); END"
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION refuse_sent() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'refused for a while'; END $$",
        "CREATE TRIGGER refuse_sent BEFORE UPDATE ON mail_outbox FOR EACH ROW"
        " WHEN (NEW.status = 'sent') EXECUTE FUNCTION refuse_sent()",
    ],
}
ALLOW = {
    "sqlite": ["DROP TRIGGER refuse_sent"],
    "postgresql": ["DROP TRIGGER refuse_sent ON mail_outbox", "DROP FUNCTION refuse_sent()"],
}


def run_sql(app, statements: dict) -> None:
    with app.app_context():
        for statement in statements[db.engine.dialect.name]:
            db.session.execute(text(statement))
        db.session.commit()


def test_a_delivery_the_database_will_not_record_for_a_while_is_sent_once(make_app, smtp, senders):
    # Two senders on one database, 2 s leases: the refusal outlasts two of them, so the
    # other sender (polling every 0.05 s) would have taken the row twice over had the lease
    # not been renewed. MAIL_TIMEOUT stays 0.5 s: a shorter lease would mean a shorter wait
    # for the SMTP reply, and a reply late by that much on a busy CI would send it twice.
    app = make_app(MAIL_PORT=smtp.port, MAIL_TIMEOUT=0.5)
    other = make_app(MAIL_PORT=smtp.port, MAIL_TIMEOUT=0.5)
    run_sql(app, REFUSE)
    (row_id,) = queue(app, "ada@example.com")
    senders(app)
    senders(other)
    wait_for(lambda: smtp.messages)
    first_lease = stored(app, row_id).lease_until

    def renewed_for_two_leases():
        row = stored(app, row_id)
        return row.status == "sending" and (row.lease_until - first_lease).total_seconds() > 4

    wait_for(renewed_for_two_leases, timeout=30)
    run_sql(app, ALLOW)
    wait_for(lambda: stored(app, row_id).status == "sent", timeout=15)
    assert Counter(m.message_id for m in smtp.messages) == {stored(app, row_id).message_id: 1}
    assert [outcome for outcome, _ in attempt_replies(app, row_id)] == ["sent"]


def test_sensitive_mail_loses_its_body_when_sent_and_other_mail_keeps_it(app, smtp, senders):
    with app.app_context():
        sensitive = send_email("ada@example.com", "test_email", sensitive=True)
        plain = send_email("bob@example.com", "test_email")
        db.session.commit()
        ids = sensitive.id, plain.id
    assert stored(app, ids[0]).mime is not None  # kept until it is delivered
    senders(app)
    wait_for(lambda: all(stored(app, i).status == "sent" for i in ids))
    assert stored(app, ids[0]).mime is None
    assert stored(app, ids[1]).mime is not None
    assert stored(app, ids[0]).sensitive is True
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["ada@example.com", "bob@example.com"]
    assert all(b"Mailroom" in m.data for m in smtp.messages)


def test_a_sender_stopping_while_its_delivery_is_unrecorded_does_not_hand_it_back(
    app, smtp, senders
):
    run_sql(app, REFUSE)
    (row_id,) = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: smtp.messages)
    stop_senders(app, timeout=10)
    # Still claimed: it goes out again only once its lease runs out, as if the process had
    # died with the send in flight; handed back, it would be sent again at once.
    assert stored(app, row_id).status == "sending"
    run_sql(app, ALLOW)
