"""Leases and due times are read from the database's clock: a host whose clock is ahead
neither takes the claims other senders hold nor holds back the mail it queues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.mail import claims
from app.mail.models import SenderState
from tests.conftest import wait_for
from tests.outbox_helpers import queue, stored
from tests.outbox_workers import faketime_env, worker_pool

LEASE = timedelta(seconds=60)
AHEAD = timedelta(minutes=3)


@pytest.fixture
def host_ahead(monkeypatch):
    """From here on, this process's clock reads three minutes ahead of the database's."""
    real_now = clock.utcnow
    monkeypatch.setattr(clock, "utcnow", lambda: real_now() + AHEAD)


def test_a_host_whose_clock_is_ahead_does_not_take_a_live_claim(app, monkeypatch):
    (row_id,) = queue(app, "ada@example.com")
    with app.app_context():
        assert [m.id for m in claims.claim_due("on-time", 10, LEASE)] == [row_id]
    real_now = clock.utcnow
    monkeypatch.setattr(clock, "utcnow", lambda: real_now() + AHEAD)
    with app.app_context():
        assert claims.claim_due("three-minutes-ahead", 10, LEASE) == []
    assert stored(app, row_id).lease_owner == "on-time"


def test_mail_queued_on_a_host_whose_clock_is_ahead_is_due_at_once(app, monkeypatch):
    real_now = clock.utcnow
    monkeypatch.setattr(clock, "utcnow", lambda: real_now() + AHEAD)
    (row_id,) = queue(app, "ada@example.com")
    monkeypatch.setattr(clock, "utcnow", real_now)
    with app.app_context():
        assert [m.id for m in claims.claim_due("on-time", 10, LEASE)] == [row_id]


def test_a_retry_from_a_host_whose_clock_is_behind_waits_its_backoff(make_app, monkeypatch):
    app = make_app(MAIL_RETRY_BASE=600, MAIL_RETRY_MAX=600)
    (row_id,) = queue(app, "ada@example.com")
    with app.app_context():
        (mail,) = claims.claim_due("late", 10, LEASE)
        real_now = clock.utcnow
        monkeypatch.setattr(clock, "utcnow", lambda: real_now() - timedelta(hours=1))
        busy = claims.DeliveryError("retry", "421 4.3.0 busy", 421)
        assert claims.mark_failure(mail, busy, "relay:25", clock.utcnow(), "late")
        # Ten minutes' backoff by the database's clock, not an hour in the past.
        assert claims.claim_due("on-time", 10, LEASE) == []
    assert stored(app, row_id).status == "queued"


# PostgreSQL only: SQLite lives on one host, so its clock is the process's own, faked with it.
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_three_minutes_ahead_leaves_a_live_claim_alone(
    make_app, make_smtp, database_url, tmp_path
):
    smtp = make_smtp()
    app = make_app(MAIL_PORT=smtp.port)
    held = queue(app, "held1@example.com", "held2@example.com")
    with app.app_context():
        assert len(claims.claim_due("live-host:1:0:a1b2", 10, LEASE)) == 2
    with worker_pool(tmp_path) as start:
        worker = start(database_url, smtp.port, extra_env=faketime_env("+3m"))

        def worker_clock_ahead():
            with app.app_context():
                beats = db.session.scalars(
                    select(SenderState.heartbeat_at).where(SenderState.pid == worker.process.pid)
                ).all()
            return beats and min(beats) - clock.utcnow() > AHEAD - timedelta(seconds=30)

        wait_for(worker_clock_ahead, timeout=60)  # it runs, with its clock ahead
        (fresh,) = queue(app, "fresh@example.com")
        wait_for(lambda: stored(app, fresh).status == "sent", timeout=30)
        assert worker.stop() == 0
    assert [m.rcpt_tos for m in smtp.messages] == [["fresh@example.com"]]
    for row_id in held:
        row = stored(app, row_id)
        assert (row.status, row.lease_owner) == ("sending", "live-host:1:0:a1b2")
