"""Relays that refuse the login or its sender, and the fallback relay: a sender the relay will
not take leaves every message queued; a wrong password is tried at most once per backoff step
by the whole deployment; a primary that is down hands sending to the fallback and gets it back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.mail import hints, relay_state
from app.mail.models import DeliveryAttempt
from app.mail.sign_in_gate import step
from app.mail.transport import SmtpSettings
from tests import provider_helpers
from tests.admin_helpers import admin_client
from tests.conftest import wait_for
from tests.outbox_helpers import queue, stored
from tests.outbox_workers import worker_pool
from tests.provider_helpers import MAILBOX, SENDER
from tests.smtp_server import SmtpServer, free_port

make_provider_smtp = provider_helpers.make_provider_smtp
PASSWORD = "Zq7-distinctive-s3cret!"
LOGIN = {"MAIL_USERNAME": MAILBOX, "MAIL_PASSWORD": PASSWORD, "MAIL_DEFAULT_SENDER": SENDER}
POSTFIX_MISMATCH = (
    f"553 5.7.1 <{MAILBOX}>: Sender address rejected: not owned by user mailroom@example.com"
)


def attempts_of(app, row_id) -> list[DeliveryAttempt]:
    with app.app_context():
        return db.session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.outbox_id == row_id)
        ).all()


def test_sender_refused_at_rcpt_leaves_every_message_queued_with_the_sender_hint(
    make_provider_smtp, make_app, senders
):
    server = make_provider_smtp(password=(MAILBOX, PASSWORD), rcpt_reply=POSTFIX_MISMATCH)
    app = make_app(MAIL_PORT=server.port, **LOGIN)
    ids = queue(app, "ada@example.com", "bob@example.com", "cy@example.com")
    senders(app)
    wait_for(lambda: all(stored(app, i).last_error for i in ids))
    for row_id in ids:
        row = stored(app, row_id)
        assert (row.status, row.attempts) == ("queued", 0)
        assert "Sender address rejected" in row.last_error
    with app.app_context():
        hint = hints.for_delivery_error(
            None, stored(app, ids[0]).last_error, SmtpSettings.from_config(app.config), MAILBOX
        )
    assert "may not send as MAIL_DEFAULT_SENDER" in hint
    assert not server.messages


# The senders' backoff cap in this test: steps of 1 s, then 2 s at the cap. The gate's
# doubling itself (1, 2, 4... up to any cap) is proven in test_providers_sign_in_gate.py; here
# the question is whether four senders in two processes keep to one AUTH per step.
CAP = 2.0
# Six AUTHs: the step grows once and then holds at the cap for four steps, so a gate that
# leaked while growing or at the cap would show two AUTHs closer than a step.
AUTHS_WATCHED = 6


@pytest.mark.slow
def test_wrong_password_four_senders_in_two_processes_one_auth_per_backoff_step(
    make_provider_smtp, make_app, database_url, tmp_path
):
    server = make_provider_smtp(password=(MAILBOX, "the-right-one"))
    app = make_app(MAIL_PORT=server.port)  # the schema, and the outbox the workers drain
    ids = queue(app, "ada@example.com", "bob@example.com")
    settings = {**LOGIN, "MAIL_TRANSPORT_BACKOFF_MAX": CAP, "MAIL_SENDER_THREADS": 2}
    with worker_pool(tmp_path) as start:
        workers = [start(database_url, server.port, **settings) for _ in range(2)]
        # Waits for the AUTHs themselves, not a fixed time: 1 + 4 x 2 s plus how late the
        # senders come back (about 1.5 s a step here, 15 s in all); 60 s leaves a noisy CI
        # four times that, and a gate that stayed shut for good fails here.
        wait_for(lambda: len(server.auth_times) >= AUTHS_WATCHED, timeout=60)
        for worker in workers:
            assert worker.stop() == 0, worker.output()
    times = server.auth_times  # with any AUTH made while the workers stopped
    assert len(times) >= AUTHS_WATCHED, times
    assert all(not accepted for _, _, accepted in server.auth_log)
    # At most one failed AUTH per step: each failure pushes the next try out by a step that
    # doubles up to the cap (1, 2, 2, 2 s...); 10% below it allows for rounding of the
    # clocks only (the server's monotonic clock here, the database's for the step).
    for n, (before, after) in enumerate(zip(times, times[1:], strict=False), start=1):
        assert after - before >= step(n, CAP) * 0.9, (n, times)
    for row_id in ids:
        assert (stored(app, row_id).status, stored(app, row_id).attempts) == ("queued", 0)


def test_primary_refusing_connections_sends_through_the_fallback(make_app, make_smtp, senders):
    fallback = make_smtp()
    primary_port = free_port()
    app = make_app(
        MAIL_PORT=primary_port, MAIL_FALLBACK_SERVER="127.0.0.1", MAIL_FALLBACK_PORT=fallback.port
    )
    [row_id] = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "sent")
    assert [m.rcpt_tos for m in fallback.messages] == [["ada@example.com"]]
    assert stored(app, row_id).relay == f"127.0.0.1:{fallback.port}"
    assert [a.relay for a in attempts_of(app, row_id)] == [f"127.0.0.1:{fallback.port}"]
    with app.app_context():
        now = relay_state.in_use(app.config)
    assert (now.relay, now.role) == (f"127.0.0.1:{fallback.port}", "fallback")
    assert "connection refused" in now.reason


def test_admin_page_and_health_details_say_which_relay_is_in_use_and_why(
    make_app, make_smtp, senders
):
    fallback = make_smtp()
    primary_port = free_port()
    token = "health-token-" + "x" * 24
    app = make_app(
        MAIL_PORT=primary_port,
        MAIL_FALLBACK_SERVER="127.0.0.1",
        MAIL_FALLBACK_PORT=fallback.port,
        HEALTH_TOKEN=token,
    )
    client = admin_client(app)
    assert f"127.0.0.1:{primary_port} (the primary)" in client.get("/admin/mail").get_data(True)
    [row_id] = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "sent")
    page = client.get("/admin/mail").get_data(as_text=True)
    assert f"127.0.0.1:{fallback.port}, the fallback, since" in page
    assert "the primary failed (connection refused" in page
    details = app.test_client().get("/healthz", headers={"Authorization": f"Bearer {token}"})
    relay = details.get_json()["relay"]
    assert (relay["in_use"], relay["relay"]) == ("fallback", f"127.0.0.1:{fallback.port}")
    assert relay["reason"].startswith("connection refused")
    public = app.test_client().get("/healthz").get_json()
    assert "relay" not in public


def test_primary_back_takes_the_next_messages_again(make_app, make_smtp, senders):
    fallback = make_smtp()
    primary_port = free_port()
    app = make_app(
        MAIL_PORT=primary_port, MAIL_FALLBACK_SERVER="127.0.0.1", MAIL_FALLBACK_PORT=fallback.port
    )
    senders(app)
    first = queue(app, "ada@example.com")
    wait_for(lambda: stored(app, first[0]).status == "sent")
    primary = SmtpServer(port=primary_port)
    primary_relay = f"127.0.0.1:{primary_port}"

    def next_message_goes_through_the_primary() -> bool:
        [row_id] = queue(app, "bob@example.com")
        wait_for(lambda: stored(app, row_id).status == "sent")
        return stored(app, row_id).relay == primary_relay

    try:
        # The primary is probed with the first message after its backoff step.
        wait_for(next_message_goes_through_the_primary, timeout=10, every=0.05)
        assert next_message_goes_through_the_primary()  # and it stays there
        with app.app_context():
            assert relay_state.in_use(app.config).role == "primary"
    finally:
        primary.stop()
    assert [m.rcpt_tos for m in fallback.messages][0] == ["ada@example.com"]


def test_a_550_at_rcpt_on_the_primary_is_not_retried_through_the_fallback(
    make_app, make_smtp, smtp, senders
):
    fallback = make_smtp()
    smtp.handler.rcpt_faults.append("550 5.1.1 <nobody@example.com>: Recipient unknown")
    app = make_app(
        MAIL_PORT=smtp.port, MAIL_FALLBACK_SERVER="127.0.0.1", MAIL_FALLBACK_PORT=fallback.port
    )
    [row_id] = queue(app, "nobody@example.com")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "failed")
    assert not fallback.messages and not fallback.handler.offered
    assert [a.relay for a in attempts_of(app, row_id)] == [f"127.0.0.1:{smtp.port}"]
