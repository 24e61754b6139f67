"""Delivery end to end against a real SMTP server: what a committed enqueue becomes on the
wire, what a rollback, the staging allowlist and not-after times prevent, and how senders
share, keep and hand back their claims and connections."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app import clock, create_app
from app.extensions import db
from app.mail import claims, link_to, outbox, send_email
from app.mail.db_clock import utc_now
from app.mail.models import OutboxMessage, SenderState
from app.mail.sender import Sender, stop_senders
from app.mail.transport import SmtpTransport
from tests.conftest import add_templates, base_config, wait_for
from tests.outbox_helpers import PROBE, queue, stored


def count_claims(monkeypatch) -> list:
    """Record each finished claim_due call, so a test can let the senders poll N times."""
    real, calls = claims.claim_due, []

    def counting(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append([mail.id for mail in result])
        return result

    monkeypatch.setattr(claims, "claim_due", counting)
    return calls


def test_committed_mail_arrives_as_text_then_html_with_its_stored_message_id(app, smtp, senders):
    add_templates(app, PROBE)
    # A forged Host on the request that triggers the mail must not reach its links.
    with app.test_request_context("/", base_url="http://evil.test"):
        row = send_email("ada@example.com", "probe", name="Ada", url=link_to("main.healthz"))
        db.session.commit()
        row_id, message_id = row.id, row.message_id
    senders(app)
    got = wait_for(lambda: smtp.messages)[0]
    msg = got.message
    assert got.mail_from == "no-reply@mailroom.example"
    assert got.rcpt_tos == ["ada@example.com"]
    assert msg["From"] == "Mailroom <no-reply@mailroom.example>"
    assert msg["Subject"] == "Hello Ada"
    assert msg["Message-ID"] == message_id
    assert message_id.endswith("@mailroom.example>")
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text, html = (part.get_content() for part in msg.iter_parts())
    assert "open https://mailroom.example/healthz" in text
    assert 'href="https://mailroom.example/healthz"' in html
    assert b"evil.test" not in got.data
    wait_for(lambda: stored(app, row_id).status == "sent")
    assert stored(app, row_id).attempts == 1


def test_rolled_back_enqueue_sends_nothing(app, smtp, senders, monkeypatch):
    with app.app_context():
        send_email("ada@example.com", "test_email")
        db.session.rollback()
    polls = count_claims(monkeypatch)
    senders(app)
    wait_for(lambda: len(polls) >= 5)
    assert smtp.handler.attempts == 0
    with app.app_context():
        assert sum(outbox.counts().values()) == 0


def test_a_commit_wakes_an_idle_sender_at_once(make_app, smtp, senders, monkeypatch):
    app = make_app(MAIL_PORT=smtp.port, MAIL_POLL_INTERVAL=600)
    polls = count_claims(monkeypatch)
    senders(app)
    wait_for(lambda: polls)  # it found nothing and went to sleep for ten minutes
    (row_id,) = queue(app, "ada@example.com")
    # Delivered within seconds although the next poll is ten minutes away: the commit woke it.
    wait_for(lambda: smtp.messages, timeout=10)
    assert [row_id] in polls


def test_one_connection_carries_many_messages(app, smtp, senders):
    queue(app, *[f"user{i}@example.com" for i in range(5)])
    senders(app)
    wait_for(lambda: len(smtp.messages) == 5)
    assert len({m.peer for m in smtp.messages}) == 1


def test_mail_max_emails_opens_a_new_connection_every_n_messages(make_app, smtp, senders):
    app = make_app(MAIL_PORT=smtp.port, MAIL_MAX_EMAILS=2)
    queue(app, *[f"user{i}@example.com" for i in range(5)])
    senders(app)
    wait_for(lambda: len(smtp.messages) == 5)
    peers = [m.peer for m in smtp.messages]
    assert len(set(peers)) == 3
    assert max(peers.count(p) for p in set(peers)) == 2


def test_allowlist_records_other_addresses_as_suppressed_and_never_sends_them(
    make_app, smtp, senders, monkeypatch
):
    app = make_app(MAIL_PORT=smtp.port, MAIL_ALLOWLIST=["ada@example.com", "@team.example"])
    ids = queue(app, "ada@example.com", "bob@team.example", "eve@elsewhere.example")
    polls = count_claims(monkeypatch)
    senders(app)
    wait_for(lambda: len(smtp.messages) == 2 and len(polls) >= 5)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["ada@example.com", "bob@team.example"]
    eve = stored(app, ids[2])
    assert eve.status == "suppressed"
    assert "MAIL_ALLOWLIST" in eve.last_error
    assert smtp.handler.attempts == 2


def test_mail_past_its_not_after_expires_and_is_never_sent(app, smtp, senders, monkeypatch):
    with app.app_context():
        deadline = clock.utcnow() + timedelta(minutes=30)
    (row_id,) = queue(app, "ada@example.com", not_after=deadline)
    real_now = clock.utcnow
    monkeypatch.setattr(clock, "utcnow", lambda: real_now() + timedelta(hours=1))
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "expired")
    assert "expired" in stored(app, row_id).last_error
    assert smtp.handler.attempts == 0


def test_a_claim_left_by_a_dead_sender_is_delivered_once_its_lease_runs_out(
    app, smtp, senders, monkeypatch
):
    dead, busy = queue(app, "dead@example.com", "busy@example.com")

    def lease(row_id, owner, seconds):
        # Leases are read from the database's clock: written with it here too.
        with app.app_context():
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(status="sending", lease_owner=owner, lease_until=utc_now(seconds))
            )
            db.session.commit()

    lease(dead, "gone-host:1:0", -1)
    lease(busy, "live-host:2:0", 600)
    polls = count_claims(monkeypatch)
    senders(app)
    wait_for(lambda: smtp.messages and len(polls) >= 5)
    assert [m.rcpt_tos for m in smtp.messages] == [["dead@example.com"]]
    assert stored(app, busy).status == "sending"
    # Ten minutes on, the live sender's lease has run out too.
    lease(busy, "live-host:2:0", -1)
    wait_for(lambda: len(smtp.messages) == 2)
    wait_for(lambda: stored(app, busy).status == "sent")


def test_stop_finishes_the_message_in_hand_and_hands_back_the_rest(make_app, make_smtp, senders):
    smtp = make_smtp(delay=0.5)
    app = make_app(MAIL_PORT=smtp.port)
    ids = queue(app, *[f"user{i}@example.com" for i in range(4)])
    senders(app)
    wait_for(lambda: smtp.handler.attempts == 1)  # the first message is in DATA
    stop_senders(app, timeout=10)
    assert len(smtp.messages) == 1
    rows = [stored(app, i) for i in ids]
    sent = [r for r in rows if r.status == "sent"]
    assert [r.recipient for r in sent] == smtp.messages[0].rcpt_tos
    rest = [r for r in rows if r.status != "sent"]
    assert [(r.status, r.lease_owner, r.attempts) for r in rest] == [("queued", None, 0)] * 3
    with app.app_context():
        assert db.session.scalars(select(SenderState)).all() == []


def test_mail_suppress_send_records_mail_as_suppressed_and_sends_nothing(
    make_app, smtp, senders, monkeypatch
):
    app = make_app(MAIL_PORT=smtp.port, MAIL_SUPPRESS_SEND=True)
    (row_id,) = queue(app, "ada@example.com")
    polls = count_claims(monkeypatch)
    senders(app)
    wait_for(lambda: len(polls) >= 5)
    row = stored(app, row_id)
    assert (row.status, row.last_error) == (
        "suppressed",
        "MAIL_SUPPRESS_SEND is on: recorded, not sent",
    )
    assert smtp.handler.attempts == 0


def test_testing_suppresses_mail_unless_told_otherwise(database_url, smtp):
    config = base_config(database_url, MAIL_PORT=smtp.port)
    del config["MAIL_SUPPRESS_SEND"]
    app = create_app(config)
    with app.app_context():
        db.create_all()
        row = send_email("ada@example.com", "test_email")
        assert row.status == "suppressed"
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_a_sender_that_lost_its_lease_does_not_send_that_message(app, smtp):
    ours, lost = queue(app, "ours@example.com", "lost@example.com")
    sender = Sender(app, 0)
    with app.app_context():
        claimed = claims.claim_due(sender.owner, 10, sender.lease)
        assert [mail.id for mail in claimed] == [ours, lost]
        # While this sender was busy, its lease on `lost` ran out and another sender took it.
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == lost)
            .values(lease_owner="other-host:9:0", lease_until=clock.utcnow() + timedelta(minutes=1))
        )
        db.session.commit()
        # A lease of zero is half gone at once: the sender renews it before every message,
        # and the renewal tells it which messages are still its own.
        sender.lease = timedelta(0)
        sender.transport = SmtpTransport()
        sender._deliver(claimed)
        sender.transport.close()
    assert [m.rcpt_tos for m in smtp.messages] == [["ours@example.com"]]
    assert (stored(app, lost).status, stored(app, lost).lease_owner) == (
        "sending",
        "other-host:9:0",
    )
