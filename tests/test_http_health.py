"""/healthz in public says only ok or degraded and why, in fixed words; the figures behind
it (counts, heartbeats, the SMTP server's own words) are for admins and HEALTH_TOKEN."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from app import clock
from app.extensions import db
from app.mail import send_email
from app.mail.models import STATUSES, OutboxMessage, SenderState
from tests.admin_helpers import admin_client, log_in, make_user
from tests.conftest import wait_for

TOKEN = "health-token-0123456789abcdefghij"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
# What a real relay may say about itself: its name and internal address.
GREETING = b"554 5.3.2 mx1.corp.internal [10.20.30.40] not accepting mail\r\n"


class GreetingServer:
    """Says one line on connect and hangs up: an SMTP server refusing service."""

    def __init__(self, greeting: bytes):
        self.greeting = greeting
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(self.greeting)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def refusing_smtp():
    server = GreetingServer(GREETING)
    yield server
    server.stop()


def health(client, headers=None):
    response = client.get("/healthz", headers=headers or {})
    assert response.is_json and response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json(), response.get_data(as_text=True)


def beating_worker(app, **state) -> None:
    """A sender elsewhere (a `flask mail worker`) that has just beaten."""
    with app.app_context():
        db.session.add(
            SenderState(name="w1:7:0", host="worker-1", pid=7, heartbeat_at=clock.utcnow(), **state)
        )
        db.session.commit()


def test_public_answer_names_no_host_address_or_smtp_text(make_app, senders, refusing_smtp):
    app = make_app(MAIL_PORT=refusing_smtp.port, HEALTH_TOKEN=TOKEN)
    senders(app)
    with app.app_context():
        send_email("ada@example.com", "test_email")
        db.session.commit()
    client = app.test_client()
    wait_for(lambda: health(client, BEARER)[1]["last_transport_error"])

    code, body, raw = health(client)
    assert (code, body) == (200, {"status": "degraded", "reasons": ["smtp transport failing"]})
    for secret in ("mx1.corp.internal", "10.20.30.40", "554", "127.0.0.1", socket.gethostname()):
        assert secret not in raw
    code, details, _ = health(client, BEARER)
    assert "mx1.corp.internal [10.20.30.40]" in details["last_transport_error"]
    assert details["outbox"]["queued"] == 1


def test_details_only_for_an_admin_or_the_health_token(make_app):
    app = make_app(MAIL_SENDER_THREADS=0, HEALTH_TOKEN=TOKEN)
    beating_worker(app)
    public = {"status": "ok", "reasons": []}
    anonymous = app.test_client()
    assert health(anonymous)[:2] == (200, public)
    assert health(anonymous, {"Authorization": "Bearer wrong-token"})[1] == public
    assert health(anonymous, {"Authorization": TOKEN})[1] == public  # no scheme, no details
    ordinary = app.test_client()
    log_in(ordinary, make_user(app, "bob@example.com"))
    assert health(ordinary)[1] == public
    for client, headers in ((anonymous, BEARER), (admin_client(app), None)):
        body = health(client, headers)[1]
        assert body["status"] == "ok" and body["database"] == {"ok": True}
        assert body["senders"]["alive"] == 1 and "outbox" in body


def test_without_a_health_token_no_bearer_gets_details(make_app):
    app = make_app(MAIL_SENDER_THREADS=0)
    beating_worker(app)
    for headers in ({"Authorization": "Bearer "}, {"Authorization": "Bearer None"}, BEARER):
        assert set(health(app.test_client(), headers)[1]) == {"status", "reasons"}


def test_due_mail_waiting_ten_minutes_is_a_queue_backing_up(make_app):
    app = make_app(MAIL_SENDER_THREADS=0, HEALTH_TOKEN=TOKEN)
    beating_worker(app)
    with app.app_context():
        row = send_email("ada@example.com", "test_email")
        db.session.commit()
        message_id = row.id
    client = app.test_client()
    assert health(client)[:2] == (200, {"status": "ok", "reasons": []})
    with app.app_context():
        late = clock.utcnow() - timedelta(minutes=11)
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id).values(next_attempt_at=late)
        )
        db.session.commit()
    assert health(client)[:2] == (200, {"status": "degraded", "reasons": ["queue backing up"]})


def test_no_sender_alive_is_a_503_in_fixed_words(make_app):
    app = make_app(MAIL_SENDER_THREADS=0)
    code, body, _ = health(app.test_client())
    assert (code, body) == (503, {"status": "degraded", "reasons": ["no sender alive"]})


def test_counts_stop_at_the_cap(make_app):
    from app.admin.figures import bounded_counts

    app = make_app(MAIL_SENDER_THREADS=0)
    with app.app_context():
        for n in range(5):
            send_email(f"user{n}@example.com", "test_email")
        db.session.commit()
        assert bounded_counts(cap=3)["queued"] == 3
        assert bounded_counts(cap=10) == {**dict.fromkeys(STATUSES, 0), "queued": 5}
