"""mail_status(): the numbers the admin page and /healthz share."""

from datetime import timedelta

from app import clock
from app.extensions import db
from app.mail import send_email
from app.mail.models import SenderState
from app.mail.status import mail_status
from tests.conftest import wait_for


def _sender(name, heartbeat_at, **fields):
    return SenderState(name=name, host="web-1", pid=42, heartbeat_at=heartbeat_at, **fields)


def test_status_counts_the_outbox_and_ages_the_oldest_queued(app, monkeypatch):
    with app.app_context():
        start = clock.utcnow()
        send_email("ada@example.com", "test_email")
        db.session.commit()
        monkeypatch.setattr(clock, "utcnow", lambda: start + timedelta(seconds=90))
        status = mail_status()
    assert status["counts"]["queued"] == 1
    assert status["counts"]["sent"] == 0
    assert 85 <= status["oldest_queued_age_s"] <= 95
    assert status["senders"] == []
    assert status["senders_alive"] is False
    assert status["last_transport_error"] is None


def test_a_sender_without_a_recent_heartbeat_is_dead(app, monkeypatch):
    now = clock.utcnow()
    with app.app_context():
        db.session.add(_sender("fresh", now - timedelta(seconds=2)))
        db.session.add(_sender("stale", now - timedelta(minutes=10)))
        db.session.commit()
        monkeypatch.setattr(clock, "utcnow", lambda: now)
        status = mail_status()
    alive = {s["name"]: s["alive"] for s in status["senders"]}
    assert alive == {"fresh": True, "stale": False}
    assert status["senders_alive"] is True


def test_a_backing_off_sender_is_alive_and_says_why(app, monkeypatch):
    now = clock.utcnow()
    with app.app_context():
        db.session.add(
            _sender(
                "waiting",
                now - timedelta(minutes=4),
                last_error="connection refused: nothing is listening there",
                last_error_at=now - timedelta(minutes=4),
                backoff_until=now + timedelta(minutes=1),
            )
        )
        db.session.commit()
        monkeypatch.setattr(clock, "utcnow", lambda: now)
        status = mail_status()
    (sender,) = status["senders"]
    assert sender["alive"] is True
    assert sender["backoff_until"].endswith("Z")
    assert status["last_transport_error"] == "connection refused: nothing is listening there"


def test_a_running_sender_reports_itself(app, senders):
    with app.app_context():
        senders(app)

        def alive():
            db.session.rollback()
            return mail_status()["senders_alive"]

        assert wait_for(alive)
