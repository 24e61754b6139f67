"""Browser-test fixtures: the app served live on loopback (with a real SMTP server and
sender threads), the system Chromium driven by Playwright, and `shoot` for screenshots.

These tests run on SQLite only: they prove what a person sees, not the database layer.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from app import create_app
from app.extensions import db
from app.mail.sender import start_senders, stop_senders
from tests.browser.people import make_user
from tests.browser.screenshots import DESKTOP, Camera
from tests.conftest import IN_CI, base_config, wait_for
from tests.smtp_server import Received, SmtpServer, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class LiveServer:
    """The app answering on `url`, mailing through `smtp` (None when pointed at nothing)."""

    app: Flask
    url: str
    smtp: SmtpServer | None
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def user(self, email: str, password: str, **attributes) -> None:
        make_user(self.app, email, password, **attributes)

    def mail_to(self, address: str, subject: str = "", timeout: float = 15.0) -> Received:
        """Wait for the SMTP server to receive a message to `address` whose subject
        contains `subject` (case-insensitive), and return the newest such message."""

        def found():
            matching = [
                m
                for m in self.smtp.messages
                if address in m.rcpt_tos and subject.lower() in str(m.message["Subject"]).lower()
            ]
            return matching[-1] if matching else None

        return wait_for(found, timeout=timeout)

    def link_in(self, received: Received) -> str:
        """The first link to this server in the message's text part, as a person would click."""
        text = received.message.get_body(preferencelist=("plain",)).get_content()
        match = re.search(re.escape(self.url) + r"/[^\s<>\"')]+", text)
        assert match, f"no link to {self.url} in the mail text:\n{text}"
        return match.group(0).rstrip(".,;")

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        with self.app.app_context():
            stop_senders(self.app, timeout=10)
            db.session.remove()
            db.engine.dispose()


def start_live(database: Path, server: SmtpServer | None, **overrides) -> LiveServer:
    """The app on a free loopback port with its own SQLite file and running sender threads,
    mailing through `server` (None: MAIL_PORT points where nothing listens, unless given)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = {"APP_BASE_URL": url}
    if server:
        settings["MAIL_PORT"] = server.port
    settings.update(overrides)
    app = create_app(base_config(f"sqlite:///{database}", **settings))
    with app.app_context():
        db.create_all()
        start_senders(app)
    http = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="live-server", daemon=True)
    thread.start()
    return LiveServer(app, url, server, http, thread)


@pytest.fixture
def serve(tmp_path, make_smtp) -> Callable[..., LiveServer]:
    """`serve(**overrides)` starts the app on a free loopback port with its own SQLite file,
    running sender threads, and an SMTP server: a fresh one, the one given, or none
    (`smtp=False`: MAIL_PORT then points at a port where nothing listens)."""
    started: list[LiveServer] = []

    def factory(*, smtp: SmtpServer | bool = True, **overrides) -> LiveServer:
        server = make_smtp() if smtp is True else smtp or None
        database = tmp_path / f"browser-{len(started)}.db"
        started.append(start_live(database, server, **overrides))
        return started[-1]

    yield factory
    for live in started:
        live.stop()


@pytest.fixture(scope="module")
def serve_module(tmp_path_factory) -> Callable[..., LiveServer]:
    """`serve` shared by a whole module: one server (and SMTP server) set up once for many
    tests, which must then not depend on each other's traces."""
    started: list[LiveServer] = []
    servers: list[SmtpServer] = []

    def factory(*, smtp: SmtpServer | bool = True, **overrides) -> LiveServer:
        if smtp is True:
            servers.append(SmtpServer())
        server = servers[-1] if smtp is True else smtp or None
        database = tmp_path_factory.mktemp("browser") / "module.db"
        started.append(start_live(database, server, **overrides))
        return started[-1]

    yield factory
    for live in started:
        live.stop()
    for server in servers:
        server.stop()


@pytest.fixture
def live(serve) -> LiveServer:
    return serve()


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not installed at {CHROMIUM} (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    # Mail is delivered on other threads: give every expect() the same patience as actions.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser tab (its own cookies). A server error or a console error (a script or
    style the Content-Security-Policy blocked, a missing file) fails the test."""
    context = chromium.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("response", lambda response: problems.extend(_response_problem(response)))
    tab.on("console", lambda message: problems.extend(_console_problem(message)))
    yield tab
    context.close()
    assert not problems, "the browser saw problems:\n" + "\n".join(problems)


@pytest.fixture
def other_page(chromium):
    """A second browser with its own cookies: another device of the same person."""
    context = chromium.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def browse(chromium):
    """`browse(locale="de-DE", viewport=PHONE, ...)`: a new tab in a context of its own, made
    with Playwright's new_context options. As for `page`, a server error or a console error
    in any of them fails the test."""
    contexts = []
    problems: list[str] = []

    def open_tab(**options):
        context = chromium.new_context(**{"viewport": DESKTOP, **options})
        context.set_default_timeout(15_000)
        contexts.append(context)
        tab = context.new_page()
        tab.on("response", lambda response: problems.extend(_response_problem(response)))
        tab.on("console", lambda message: problems.extend(_console_problem(message)))
        return tab

    yield open_tab
    for context in contexts:
        context.close()
    assert not problems, "the browser saw problems:\n" + "\n".join(problems)


def _response_problem(response) -> list[str]:
    """A 5xx anywhere, or a missing stylesheet, script or image (the browser's own favicon
    request aside: the page never asked for one)."""
    if response.status >= 500:
        return [f"{response.status} from {response.url}"]
    is_part = response.request.resource_type != "document"
    if is_part and response.status >= 400 and not response.url.endswith("/favicon.ico"):
        return [f"{response.status} for {response.url}"]
    return []


def _console_problem(message) -> list[str]:
    # Failed loads are judged by _response_problem, which knows the URL.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        return [f"console: {message.text}"]
    return []


@pytest.fixture
def shoot(request) -> Callable:
    """`shoot(page, "signup-form")`: see tests/browser/screenshots.py."""
    return Camera(request.node.name)
