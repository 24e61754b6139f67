"""/healthz: what a load balancer and an operator see, on SQLite and PostgreSQL. The
figures need the health token (the public answer is in test_http_health.py)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from app import clock, create_app
from app.extensions import db, limiter
from app.mail import send_email
from app.mail.models import SenderState
from app.mail.sender import stop_senders
from tests.conftest import base_config, wait_for
from tests.smtp_server import free_port

TOKEN = "healthz-test-token-0123456789abcdef"


def _health(client):
    response = client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.is_json
    return response.status_code, response.get_json()


@pytest.fixture
def make_app(make_app):
    """Every app here accepts the health token, so the tests read the figures."""
    return lambda **overrides: make_app(**{"HEALTH_TOKEN": TOKEN, **overrides})


@pytest.fixture
def app(make_app, smtp):
    return make_app(MAIL_PORT=smtp.port)


def test_healthy_app_reports_database_outbox_and_senders(app, client, senders, smtp):
    senders(app)
    with app.app_context():
        send_email("ada@example.com", "test_email")
        db.session.commit()
    wait_for(lambda: len(smtp.messages) == 1)
    # The sent-mark lands just after the server's reply.
    code, body = wait_for(lambda: (r := _health(client))[1].get("outbox", {}).get("sent") and r)
    assert code == 200 and body["status"] == "ok" and body["reasons"] == []
    assert body["database"] == {"ok": True}
    assert body["outbox"]["sent"] == 1
    assert body["oldest_queued_age_s"] is None
    assert body["senders"]["ok"] is True
    assert body["senders"]["alive"] == 1
    assert body["last_transport_error"] is None


def test_senders_that_never_started_make_the_app_unhealthy(app, client):
    code, body = _health(client)
    assert code == 503
    assert body["reasons"] == ["no sender alive"]
    assert body["database"] == {"ok": True}
    assert body["senders"]["ok"] is False


def test_web_only_process_is_healthy_while_a_worker_elsewhere_beats(make_app, monkeypatch):
    app = make_app(MAIL_SENDER_THREADS=0)
    client = app.test_client()
    assert _health(client)[0] == 503
    now = clock.utcnow()
    with app.app_context():
        worker = SenderState(name="worker-1:7:0", host="worker-1", pid=7, heartbeat_at=now)
        db.session.add(worker)
        db.session.commit()
    code, body = _health(client)
    assert code == 200
    assert body["senders"] == {
        "ok": True,
        "in_this_process": 0,
        "alive": 1,
        "heartbeats": [
            {
                "alive": True,
                "heartbeat_age_s": 0.0,
                "sent_count": 0,
                "backoff_until": None,
                "last_error": None,
            }
        ],
    }
    # A worker busy with one message on a slow server (up to 4 x MAIL_TIMEOUT) is not dead.
    monkeypatch.setattr(clock, "utcnow", lambda: now + timedelta(seconds=20))
    assert _health(client)[0] == 200
    monkeypatch.setattr(clock, "utcnow", lambda: now + timedelta(minutes=5))
    assert _health(client)[0] == 503


def test_transport_error_is_shown_while_senders_back_off(make_app, senders):
    app = make_app(MAIL_PORT=free_port(), MAIL_PASSWORD="hunter2-secret")
    senders(app)
    with app.app_context():
        send_email("ada@example.com", "test_email")
        db.session.commit()
    client = app.test_client()
    code, body = wait_for(lambda: (r := _health(client))[1]["last_transport_error"] and r)
    assert code == 200  # the instance serves; mail waits for the server to come back
    assert body["reasons"] == ["smtp transport failing"]
    assert "refused" in body["last_transport_error"]
    assert body["outbox"]["queued"] == 1
    assert body["oldest_queued_age_s"] is not None
    assert "hunter2-secret" not in str(body)
    assert "test-secret-key" not in str(body)


def test_healthz_needs_no_login_and_is_never_rate_limited(make_app, monkeypatch):
    # Flask-Limiter keeps the first app's default limits on the shared extension object:
    # put the old (empty) ones back after this test.
    manager = limiter.limit_manager
    monkeypatch.setattr(manager, "_default_limits", manager._default_limits)
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")
    client = app.test_client()
    codes = {client.get("/healthz").status_code for _ in range(10)}
    assert codes == {503}  # no senders started here: unhealthy, but answered every time
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]


@pytest.fixture
def own_app(private_database_url):
    """An app on a database this test may take away."""
    config = base_config(private_database_url, MAIL_PASSWORD="hunter2-secret", HEALTH_TOKEN=TOKEN)
    app = create_app(config)
    with app.app_context():
        db.create_all()
    yield app
    stop_senders(app, timeout=10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_503_while_the_database_is_gone_and_200_when_it_is_back(own_app, senders, smtp):
    own_app.config["MAIL_PORT"] = smtp.port
    senders(own_app)
    client = own_app.test_client()
    wait_for(lambda: _health(client)[0] == 200)
    url = make_url(own_app.config["SQLALCHEMY_DATABASE_URI"])
    bring_back = _take_away(url, own_app)

    code, body = _health(client)
    assert code == 503
    assert body["status"] == "degraded"
    assert body["reasons"] == ["database unreachable"]
    assert body["database"]["ok"] is False
    for secret in ("hunter2-secret", "test-secret-key", str(url.database)):
        assert secret not in str(body)

    bring_back()
    code, body = wait_for(lambda: (r := _health(client))[0] == 200 and r)
    assert body["database"] == {"ok": True}


def _take_away(url, app):
    """Make the database unreachable the way it happens to each backend; return the undo."""
    if url.get_backend_name() == "sqlite":
        # The file (and its WAL) moved away, e.g. a volume unmounted under the app.
        path = Path(url.database)
        parts = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]
        moved = [(p, p.with_name(p.name + ".away")) for p in parts if p.exists()]
        for here, away in moved:
            os.rename(here, away)
        return lambda: [os.rename(away, here) for here, away in moved]
    # PostgreSQL: the database dropped under the app, its connections cut.
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))

    def recreate():
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
        with app.app_context():
            db.create_all()

    return recreate
