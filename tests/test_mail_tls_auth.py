"""TLS and AUTH against real servers: a test CA in MAIL_CA_FILE is trusted, nothing else is;
a refused certificate or password keeps the mail queued with the reason, and neither the
password nor a full address ever reaches a log line."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from app.extensions import db
from app.mail.models import SenderState
from app.mail.sender import stop_senders
from tests.conftest import wait_for
from tests.outbox_helpers import queue, stored

# The plain-text AUTH server is on loopback on purpose (the app allows that, config warns).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
USER, PASSWORD = "mailroom", "correct-horse-battery-staple"
TLS_SETTINGS = {
    "starttls": {"MAIL_USE_TLS": True, "MAIL_USE_SSL": False},
    "implicit": {"MAIL_USE_TLS": False, "MAIL_USE_SSL": True},
}


def sender_error(app) -> str | None:
    with app.app_context():
        errors = [s.last_error for s in db.session.scalars(select(SenderState)) if s.last_error]
        return errors[0] if errors else None


def tls_app(make_app, server, tls, certs, **overrides):
    return make_app(
        MAIL_PORT=server.port,
        MAIL_CA_FILE=certs.ca_path,
        MAIL_USERNAME=USER,
        MAIL_PASSWORD=PASSWORD,
        **TLS_SETTINGS[tls],
        **overrides,
    )


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_tls_with_the_ca_in_mail_ca_file_delivers_after_auth(
    make_app, make_smtp, certs, senders, tls
):
    smtp = make_smtp(tls=tls, cert=certs.trusted, auth=(USER, PASSWORD))
    app = tls_app(make_app, smtp, tls, certs)
    (row_id,) = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: stored(app, row_id).status == "sent")
    assert smtp.auth_attempts == ["ok"]
    assert [m.rcpt_tos for m in smtp.messages] == [["ada@example.com"]]


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_an_untrusted_certificate_gets_nothing_not_even_auth(
    make_app, make_smtp, certs, senders, tls
):
    smtp = make_smtp(tls=tls, cert=certs.untrusted, auth=(USER, PASSWORD))
    app = tls_app(make_app, smtp, tls, certs)
    (row_id,) = queue(app, "ada@example.com")
    senders(app)
    reason = wait_for(lambda: sender_error(app))
    assert reason.startswith("certificate not trusted")
    stop_senders(app, timeout=5)
    row = stored(app, row_id)
    assert (row.status, row.attempts) == ("queued", 0)
    assert row.last_error.startswith("certificate not trusted")
    assert smtp.auth_attempts == []
    assert smtp.messages == [] and smtp.handler.attempts == 0


def test_mail_tls_verify_false_accepts_any_certificate_by_explicit_choice(
    make_app, make_smtp, certs, senders
):
    smtp = make_smtp(tls="starttls", cert=certs.untrusted)
    app = make_app(MAIL_PORT=smtp.port, MAIL_USE_TLS=True, MAIL_TLS_VERIFY=False)
    assert any("MAIL_TLS_VERIFY is off" in w for w in app.config["CONFIG_WARNINGS"])
    queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: smtp.messages)


def test_a_wrong_password_keeps_mail_queued_with_attempts_unspent(make_app, make_smtp, senders):
    smtp = make_smtp(auth=(USER, PASSWORD))
    app = make_app(MAIL_PORT=smtp.port, MAIL_USERNAME=USER, MAIL_PASSWORD="wrong")
    ids = queue(app, "ada@example.com", "bob@example.com")
    senders(app)
    reason = wait_for(lambda: sender_error(app))
    assert "535" in reason and "authentication" in reason
    stop_senders(app, timeout=5)
    rows = [stored(app, i) for i in ids]
    assert [(row.status, row.attempts) for row in rows] == [("queued", 0)] * 2
    # The messages the sender had claimed carry the reason too (it may claim one at a time).
    assert "535" in rows[0].last_error
    assert "ok" not in smtp.auth_attempts and smtp.handler.attempts == 0


def test_log_lines_carry_neither_the_password_nor_a_full_address(
    make_app, make_smtp, senders, caplog, capfd
):
    smtp = make_smtp(auth=(USER, PASSWORD), faults=["451 4.3.0 <ada.lovelace@example.com> later"])
    smtp.handler.rcpt_faults.append("550 5.1.1 <bob.babbage@example.com>: no such user")
    app = make_app(MAIL_PORT=smtp.port, MAIL_USERNAME=USER, MAIL_PASSWORD=PASSWORD)
    caplog.set_level(logging.DEBUG)
    ada, bob = queue(app, "bob.babbage@example.com", "ada.lovelace@example.com")[::-1]
    senders(app)
    wait_for(lambda: stored(app, ada).status == "sent" and stored(app, bob).status == "failed")
    stop_senders(app, timeout=5)
    # Everything logged in this process but the test server's own log ("mail.log").
    lines = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    mail_lines = " ".join(line for line in lines if line.startswith("mail "))
    for event in ("queued", "retry", "sent", "failed"):
        assert f"mail {event} message_id=" in mail_lines
    assert "to=a***@example.com" in mail_lines and "to=b***@example.com" in mail_lines
    out, err = capfd.readouterr()
    for text in [*lines, out, err]:
        assert PASSWORD not in text
        assert "ada.lovelace@" not in text and "bob.babbage@" not in text
