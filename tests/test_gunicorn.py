"""Mailroom under a real gunicorn (gunicorn.conf.py): senders in every worker, none lost.

Each test starts gunicorn in a session of its own on a free port, with the production
settings, against a real SMTP server on loopback, and always ends it in teardown.
"""

from __future__ import annotations

import runpy
import secrets
import signal
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from app.mail import send_email
from tests.conftest import base_config, wait_for
from tests.live import ROOT, Browser, clean_environment, end_process_group, wait_until_serving
from tests.smtp_server import free_port

pytestmark = pytest.mark.slow
SIGNUPS = 200


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py` with 2 workers, as a deployment would run it."""

    def __init__(self, database_url: str, smtp_port: int, log_path, preload: bool = False):
        self.port = free_port()
        self.log_path = log_path
        self.env = clean_environment(
            APP_ENV="production",
            SECRET_KEY=secrets.token_hex(32),
            APP_BASE_URL=f"http://127.0.0.1:{self.port}",
            DATABASE_URL=database_url,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=smtp_port,
            MAIL_DEFAULT_SENDER="Mailroom <no-reply@mailroom.example>",
            MAIL_TIMEOUT=2,
            MAIL_POLL_INTERVAL=0.2,
            MAIL_RETRY_BASE=0.2,
            MAIL_TRANSPORT_BACKOFF_MAX=0.5,
            MAIL_SENDER_THREADS=2,
            # Two hundred sign-ups from one address is this test, not an attack.
            RATELIMIT_ENABLED="false",
            WEB_CONCURRENCY=2,
            GUNICORN_THREADS=4,
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
        )
        self.args = ["--preload"] if preload else []
        self.process: subprocess.Popen | None = None

    def start(self) -> Gunicorn:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/gunicorn"),
                    "-c",
                    str(ROOT / "gunicorn.conf.py"),
                    *self.args,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_serving(self.port, self.process)
        return self

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def end(self) -> None:
        if self.process is not None:
            end_process_group(self.process)


@pytest.fixture
def database(private_database_url):
    """A fresh schema on a database of this test's own; a engine to look at the outbox."""
    app = create_app(base_config(private_database_url))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    engine = create_engine(private_database_url)
    yield private_database_url, engine
    engine.dispose()


@pytest.fixture
def gunicorns(tmp_path):
    started = []

    def start(database_url: str, smtp_port: int, preload: bool = False) -> Gunicorn:
        server = Gunicorn(database_url, smtp_port, tmp_path / "gunicorn.log", preload)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.end()


def _statuses(engine) -> Counter:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, count(*) FROM mail_outbox GROUP BY status"))
        return Counter(dict(rows.all()))


def _enqueue(database_url: str, count: int) -> None:
    """Queue mail the way the app does, from another process's point of view."""
    app = create_app(base_config(database_url, MAIL_SENDER_THREADS=0))
    with app.app_context():
        for n in range(count):
            send_email(f"user{n}@example.com", "test_email")
        db.session.commit()
        db.engine.dispose()


def _assert_each_delivered_once(smtp, count: int) -> None:
    ids = Counter(m.message_id for m in smtp.messages)
    assert len(ids) == count
    assert set(ids.values()) == {1}, [i for i, n in ids.items() if n > 1]


@pytest.mark.parametrize("preload", [False, True], ids=["fork", "preload"])
def test_200_signups_deliver_200_confirmations_each_once(database, smtp, gunicorns, preload):
    url, engine = database
    server = gunicorns(url, smtp.port, preload=preload)
    emails = [f"person{n}@example.com" for n in range(SIGNUPS)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda email: Browser(server.port).sign_up(email), emails))

    wait_for(lambda: len(smtp.messages) >= SIGNUPS, timeout=120)
    wait_for(lambda: _statuses(engine) == Counter(sent=SIGNUPS), timeout=30)
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(emails)
    assert {m.message["Subject"] for m in smtp.messages} == {"Finish signing up for Mailroom"}
    _assert_each_delivered_once(smtp, SIGNUPS)
    # Senders run in each worker, after the fork, and never in the master.
    with engine.connect() as conn:
        pids = set(conn.execute(text("SELECT pid FROM mail_sender")).scalars())
    assert len(pids) == 2
    assert server.process.pid not in pids


def test_sigterm_with_mail_in_flight_then_restart_delivers_all_once(database, make_smtp, gunicorns):
    url, engine = database
    smtp = make_smtp(delay=0.5)  # slow: messages are in hand when the signal comes
    server = gunicorns(url, smtp.port)
    _enqueue(url, 40)
    wait_for(lambda: len(smtp.messages) >= 4, timeout=30)

    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    statuses = _statuses(engine)
    assert statuses["sending"] == 0  # every claim handed back or finished
    assert statuses["sent"] + statuses["queued"] == 40
    assert statuses["queued"] > 0
    assert "mail senders stopped" in server.log()

    # The slow replies did their part (mail was in hand when the signal came); the restart
    # sends the rest at full speed: 4 s less of waiting on 0.5 s replies, the same check that
    # each of the 40 arrives once.
    smtp.handler.delay = 0
    gunicorns(url, smtp.port)
    wait_for(lambda: _statuses(engine) == Counter(sent=40), timeout=60)
    _assert_each_delivered_once(smtp, 40)


def test_sigterm_while_the_smtp_server_is_down_then_restart_delivers_all(
    database, make_smtp, gunicorns
):
    url, engine = database
    port = free_port()  # nothing listens here yet
    server = gunicorns(url, port)
    _enqueue(url, 10)

    def public_health() -> str:
        return Browser(server.port).get("/healthz")[2]

    wait_for(lambda: "smtp transport failing" in public_health(), timeout=30)

    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    assert _statuses(engine) == Counter(queued=10)

    smtp = make_smtp(port=port)
    gunicorns(url, port)
    wait_for(lambda: _statuses(engine) == Counter(sent=10), timeout=60)
    _assert_each_delivered_once(smtp, 10)


def test_hup_reload_while_sending_loses_nothing(database, make_smtp, gunicorns):
    url, engine = database
    smtp = make_smtp(delay=0.2)
    server = gunicorns(url, smtp.port)
    _enqueue(url, 30)
    wait_for(lambda: len(smtp.messages) >= 4, timeout=30)

    server.signal(signal.SIGHUP)
    wait_for(lambda: _statuses(engine) == Counter(sent=30), timeout=90)
    _assert_each_delivered_once(smtp, 30)
    assert server.log().count("Booting worker") >= 4  # two new workers replaced the old
    assert server.process.poll() is None
    wait_until_serving(server.port, server.process)


def test_config_reads_the_environment_and_outwaits_the_message_in_hand(monkeypatch):
    for name in ("GUNICORN_BIND", "GUNICORN_TIMEOUT", "GUNICORN_GRACEFUL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAIL_TIMEOUT", "45")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "2")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["timeout"] > 4 * 45
    assert conf["graceful_timeout"] > 4 * 45
    assert (conf["workers"], conf["threads"]) == (3, 2)
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["accesslog"] is None  # request lines carry tokens
    assert conf["control_socket_disable"] is True
