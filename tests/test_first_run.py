"""A new user's first run: `make run` in a fresh copy of the project serves the app, catches
its mail at /dev/mailbox, and a sign-up can be confirmed from there. Ctrl-C stops it all.

The copy shares this checkout's virtualenv (`make -o install` skips reinstalling it); the
ports are free ones, passed the way a user would move them (FLASK_RUN_PORT, MAIL_PORT).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import smtplib
import subprocess
from email.message import EmailMessage

import pytest

from app.mail.catcher import is_listening
from tests.accounts import PASSWORD
from tests.conftest import csrf_token, wait_for
from tests.live import ROOT, Browser, clean_environment, end_process_group, wait_until_serving
from tests.smtp_server import free_port

pytestmark = pytest.mark.slow
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".venv", ".git", "instance", "__pycache__", ".pytest_cache", ".ruff_cache", ".env",
    "test-artifacts", "results",
)  # fmt: skip


@pytest.fixture
def fresh_copy(tmp_path):
    copy = tmp_path / "mailroom"
    shutil.copytree(ROOT, copy, ignore=NOT_IN_A_CLONE)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


@pytest.fixture
def ports():
    return free_port(), free_port()


@pytest.fixture
def environment(ports):
    web, mail = ports
    return clean_environment(
        FLASK_RUN_PORT=web, MAIL_PORT=mail, APP_BASE_URL=f"http://127.0.0.1:{web}"
    )


def _flask(copy, environment, *args):
    env = {**environment, "APP_ENV": "development", "FLASK_APP": "wsgi"}
    return subprocess.run(
        [str(copy / ".venv/bin/flask"), *args],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_make_run_serves_the_app_and_a_signup_is_confirmed_through_the_mailbox(
    fresh_copy, environment, ports, tmp_path
):
    web, mail = ports
    # Mail queued before the server starts goes out without waiting for a first request.
    _flask(fresh_copy, environment, "db", "upgrade")
    _flask(fresh_copy, environment, "mail", "send-test", "early@example.com")
    mailbox = fresh_copy / "instance" / "dev-mailbox"
    with open(tmp_path / "make-run.log", "wb") as log:
        process = subprocess.Popen(
            ["make", "-o", "install", "run"],
            cwd=fresh_copy,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_like_a_terminal,
        )
    try:
        wait_for(lambda: list(mailbox.glob("*.eml")), timeout=90)
        wait_until_serving(web, process, timeout=60)
        _sign_up_and_confirm(Browser(web), web)
        output = (tmp_path / "make-run.log").read_text()
        assert f"http://127.0.0.1:{web}/dev/mailbox" in output
        assert "users create-admin" in output

        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
        process.wait(30)
        assert not is_listening("127.0.0.1", web)
        assert not is_listening("127.0.0.1", mail)
    finally:
        end_process_group(process, first=signal.SIGINT)
    assert "mail senders stopped" in (tmp_path / "make-run.log").read_text()


def _like_a_terminal() -> None:
    """Ctrl-C must work as in a terminal, even when this suite runs with SIGINT ignored
    (a shell's background job), which every child would inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _sign_up_and_confirm(browser: Browser, web: int) -> None:
    assert browser.get("/")[0] == 200
    status, _, listing = browser.get("/dev/mailbox")
    assert status == 200
    assert "Mailroom test email" in listing

    browser.sign_up("newcomer@example.com")
    listing = wait_for(
        lambda: "newcomer@example.com" in (page := browser.get("/dev/mailbox")[2]) and page,
        timeout=30,
    )
    message_path = re.search(r'href="(/dev/mailbox/[^"/]+)"', listing).group(1)
    status, _, message = browser.get(message_path)
    assert status == 200
    assert "Finish signing up" in message
    link = re.search(rf'href="http://127\.0\.0\.1:{web}(/confirm/[^"]+)"', message).group(1)
    assert browser.get(f"{message_path}/html")[0] == 200

    status, _, page = browser.get(link)
    assert status == 200
    form = {"csrf_token": csrf_token(page), "password": PASSWORD, "password_confirm": PASSWORD}
    status, _, _ = browser.post(link, form)
    assert status == 302
    _, _, login = browser.get("/login")
    assert "account is ready" in login.lower()


def test_flask_mail_catcher_alone_keeps_mail_for_the_mailbox(fresh_copy, environment, ports):
    _, mail = ports
    env = {**environment, "APP_ENV": "development", "FLASK_APP": "wsgi"}
    process = subprocess.Popen(
        [str(fresh_copy / ".venv/bin/flask"), "mail", "catcher"],
        cwd=fresh_copy,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: is_listening("127.0.0.1", mail) or process.poll() is not None, 60)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Hi"
        message.set_content("caught")
        with smtplib.SMTP("127.0.0.1", mail, timeout=10) as client:
            client.send_message(message)
        (kept,) = (fresh_copy / "instance" / "dev-mailbox").glob("*.eml")
        assert b"Subject: Hi" in kept.read_bytes()
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        end_process_group(process)
