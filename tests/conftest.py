"""Shared fixtures: the app on SQLite and PostgreSQL, real SMTP servers, test certificates.

Every test that uses `app` runs once per database. PostgreSQL comes from
TEST_DATABASE_URL (or the local default); off CI, a machine without it skips
those runs and says why; on CI (CI=true) they fail instead.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable

import pytest
import trustme
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import create_engine, make_url, text

from app import create_app
from app.extensions import db
from app.mail.sender import start_senders, stop_senders
from tests.smtp_server import SilentServer, SmtpServer, free_port

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG_URL


def _postgres_problem(url: str) -> str | None:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable here
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = _postgres_url()
    problem = _postgres_problem(url)
    if problem:
        message = f"PostgreSQL is not reachable at {url} ({problem}); set TEST_DATABASE_URL"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mailroom.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def private_database_url(database_url):
    """`database_url`, but on PostgreSQL a database of this test's own, dropped afterwards:
    for tests that take the database away, or share it with processes they start."""
    if not database_url.startswith("postgresql"):
        yield database_url
        return
    name = f"mailroom_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A test CA, a server certificate it signed for 127.0.0.1, and an untrusted one."""
    ca = trustme.CA()
    untrusted_ca = trustme.CA()
    folder = tmp_path_factory.mktemp("certs")
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    class Certs:
        trusted = ca.issue_cert("127.0.0.1", "localhost")
        untrusted = untrusted_ca.issue_cert("127.0.0.1", "localhost")
        ca_path = str(ca_file)

    return Certs


def base_config(database_url: str, **overrides) -> dict:
    config = {
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "APP_BASE_URL": "https://mailroom.example",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": free_port(),
        "MAIL_DEFAULT_SENDER": "Mailroom <no-reply@mailroom.example>",
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_TIMEOUT": 2.0,
        "MAIL_POLL_INTERVAL": 0.05,
        "MAIL_RETRY_BASE": 0.01,
        "MAIL_RETRY_MAX": 0.05,
        "MAIL_TRANSPORT_BACKOFF_MAX": 0.2,
        "MAIL_SENDER_THREADS": 1,
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return config


@pytest.fixture
def make_app(database_url) -> Callable:
    """Build an app on a fresh schema; `make_app(MAIL_PORT=...)` overrides settings."""
    built = []

    def factory(**overrides):
        app = create_app(base_config(database_url, **overrides))
        with app.app_context():
            db.drop_all()
            db.create_all()
        built.append(app)
        return app

    yield factory
    for app in built:
        stop_senders(app, timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app, smtp):
    """The app pointed at a plain SMTP server on loopback (`smtp`)."""
    return make_app(MAIL_PORT=smtp.port)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_smtp() -> Callable[..., SmtpServer]:
    servers = []

    def factory(**kwargs) -> SmtpServer:
        server = SmtpServer(**kwargs)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def smtp(make_smtp) -> SmtpServer:
    return make_smtp()


@pytest.fixture
def silent_smtp():
    server = SilentServer()
    yield server
    server.stop()


@pytest.fixture
def senders():
    """`senders(app)` starts the app's sender threads; they are stopped after the test."""
    started = []

    def start(app, threads=None):
        started.append(app)
        return start_senders(app, threads)

    yield start
    for app in started:
        stop_senders(app, timeout=10)


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, every: float = 0.02):
    """Poll until `predicate()` is truthy (for work happening on other threads)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(every)


def add_templates(app, templates: dict[str, str]) -> None:
    """Serve extra templates (e.g. {"email/probe.txt": "..."}) beside the real ones."""
    app.jinja_loader = ChoiceLoader([DictLoader(templates), app.jinja_loader])


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token field on the page"
    return match.group(1)
