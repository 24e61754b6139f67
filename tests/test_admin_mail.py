"""The settings page, the test email followed until it lands, and the connection doctor's
page. Admin sessions are opened with Flask-Login's session keys (admin_helpers.log_in)."""

import logging
import re

import pytest

from app.extensions import db
from app.mail.cli import TEST_PRIORITY
from app.mail.models import OutboxMessage
from tests.admin_helpers import (
    ADMIN_EMAIL,
    admin_client,
    latest_message,
    outbox_count,
    post_form,
)
from tests.conftest import wait_for
from tests.smtp_server import QUEUE_ID, free_port

PASSWORD = "Zq7-distinctive-s3cret!"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def our_log(caplog) -> str:
    # "mail.log" is aiosmtpd, the test server, not Mailroom.
    return "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")


def status_of(app, message_id: int) -> str:
    with app.app_context():
        return db.session.get(OutboxMessage, message_id).status


# -- the settings page --


def test_settings_page_shows_effective_settings_with_the_password_masked(make_app, smtp):
    app = make_app(
        MAIL_PORT=smtp.port,
        MAIL_USERNAME="mailer",
        MAIL_PASSWORD=PASSWORD,
        MAIL_ALLOWLIST=["@example.com"],
    )
    page = text_of(admin_client(app).get("/admin/mail"))
    assert "127.0.0.1" in page
    assert str(smtp.port) in page
    assert "none: mail and any password travel in clear" in page
    assert "mailer" in page
    assert re.search(r"Password \(MAIL_PASSWORD\)</dt><dd>set</dd>", page)
    assert PASSWORD not in page
    assert "Mailroom &lt;no-reply@mailroom.example&gt;" in page
    assert "@example.com" in page
    # The configuration warnings are on the page.
    assert "MAIL_ALLOWLIST is set: mail to any other address is suppressed" in page


def test_settings_page_says_when_no_password_is_set(app):
    page = text_of(admin_client(app).get("/admin/mail"))
    assert re.search(r"Password \(MAIL_PASSWORD\)</dt><dd>not set</dd>", page)


def test_settings_page_shows_outbox_counts_and_sender_state(app, senders):
    client = admin_client(app)
    page = text_of(client.get("/admin/mail"))
    assert "No sender has reported in" in page
    assert "none waiting" in page
    post_form(client, "/admin/mail/test", {"to": "ops@example.com"})
    with app.app_context():
        senders(app)
    sent_one = re.compile(r'badge-sent">sent</span> 1<')
    page = wait_for(lambda: (p := text_of(client.get("/admin/mail"))) and sent_one.search(p) and p)
    assert ">alive<" in page
    assert "No sender has reported in" not in page
    assert "none waiting" in page


def test_settings_page_shows_a_failing_sender_and_its_backoff(make_app, senders):
    app = make_app(MAIL_PORT=free_port(), MAIL_TRANSPORT_BACKOFF_MAX=30)
    client = admin_client(app)
    post_form(client, "/admin/mail/test", {"to": "ops@example.com"})
    with app.app_context():
        senders(app)
    page = wait_for(lambda: (p := text_of(client.get("/admin/mail"))) and "refused" in p and p)
    assert "connection refused: nothing is listening there" in page
    assert re.search(r"<td[^>]*>\d{4}-\d\d-\d\dT[\d:]+Z</td>", page), "backing off until"
    assert "1 s old" in page or " s old" in page


# -- the test email --


def test_test_email_recipient_defaults_to_the_admins_address(app):
    page = text_of(admin_client(app).get("/admin/mail"))
    assert re.search(rf'name="to"[^>]*value="{re.escape(ADMIN_EMAIL)}"', page)


def test_test_email_page_follows_the_message_until_the_server_replies(app, smtp, senders):
    client = admin_client(app)
    response = post_form(client, "/admin/mail/test", {"to": "Ops@Example.com"})
    assert response.status_code == 302
    row = latest_message(app)
    assert response.headers["Location"] == f"/admin/mail/outbox/{row.id}"
    assert row.recipient == "ops@example.com"
    assert row.template == "test_email"
    assert row.priority == TEST_PRIORITY

    waiting = text_of(client.get(response.headers["Location"]))
    assert '<meta http-equiv="refresh" content="1">' in waiting
    assert "queued" in waiting

    with app.app_context():
        senders(app)
    wait_for(lambda: smtp.messages)
    wait_for(lambda: status_of(app, row.id) == "sent")
    page = text_of(client.get(response.headers["Location"]))
    assert f"delivered to 127.0.0.1:{smtp.port} — 250 2.0.0 Ok: queued as {QUEUE_ID}" in page
    assert "http-equiv" not in page
    assert smtp.messages[0].rcpt_tos == ["ops@example.com"]
    assert smtp.messages[0].message["Subject"] == "Mailroom test email"


def test_test_email_failure_shows_the_classified_error_and_its_hint(app, smtp, senders):
    smtp.handler.rcpt_faults.append("550 5.1.1 <nobody@example.com>: Recipient unknown")
    client = admin_client(app)
    location = post_form(client, "/admin/mail/test", {"to": "nobody@example.com"}).location
    row = latest_message(app)
    with app.app_context():
        senders(app)
    wait_for(lambda: status_of(app, row.id) == "failed")
    page = text_of(client.get(location))
    assert "failed: 550 5.1.1" in page
    assert "Recipient unknown" in page
    assert "The server refused the recipient" in page
    assert "Retry this message" in page


def test_test_email_to_nothing_listening_says_why_while_it_waits(make_app, senders):
    app = make_app(MAIL_PORT=free_port())
    client = admin_client(app)
    location = post_form(client, "/admin/mail/test", {"to": "ops@example.com"}).location
    row = latest_message(app)
    with app.app_context():
        senders(app)

        def reason():
            db.session.rollback()
            return db.session.get(OutboxMessage, row.id).last_error

        wait_for(reason)
    page = text_of(client.get(location))
    assert "not delivered yet: connection refused" in page
    assert "Nothing is listening at 127.0.0.1:" in page
    assert 'http-equiv="refresh"' in page


def test_test_email_without_a_running_sender_says_so(app):
    client = admin_client(app)
    page = text_of(
        client.get(post_form(client, "/admin/mail/test", {"to": "a@example.com"}).location)
    )
    assert "queued, but no sender is running" in page
    assert "flask mail worker" in page


@pytest.mark.parametrize(
    "to, error",
    [
        ("", "Enter"),
        ("not-an-address", "Enter"),
        ("a@example.com, b@evil.test", "one email address"),
        ("Eve <eve@example.com>", "one email address"),
        ("a@example.com\r\nBcc: b@evil.test", "single line"),
    ],
)
def test_test_email_refuses_anything_but_one_address(app, to, error):
    response = post_form(admin_client(app), "/admin/mail/test", {"to": to})
    assert response.status_code == 400
    assert error in text_of(response)
    assert outbox_count(app) == 0


# -- the connection doctor's page --


def test_check_page_walks_every_step_of_a_healthy_server(make_app, make_smtp, certs, caplog):
    caplog.set_level(logging.DEBUG)
    server = make_smtp(tls="starttls", cert=certs.trusted, auth=("mailer", PASSWORD))
    app = make_app(
        MAIL_PORT=server.port,
        MAIL_USE_TLS=True,
        MAIL_USERNAME="mailer",
        MAIL_PASSWORD=PASSWORD,
        MAIL_CA_FILE=certs.ca_path,
    )
    response = post_form(admin_client(app), "/admin/mail/check", {"rcpt": "ada@example.com"})
    page = text_of(response)
    assert response.status_code == 200
    assert "Every step passed" in page
    assert page.count('class="step step-ok"') == 11
    assert "STARTTLS and TLS handshake" in page
    assert "TLSv1.3" in page
    assert "AUTH: LOGIN PLAIN" in page
    assert "235 2.7.0 Authentication successful" in page
    assert "RCPT TO:&lt;ada@example.com&gt;" in page
    assert server.messages == []
    assert PASSWORD not in page
    assert PASSWORD not in our_log(caplog)
    assert outbox_count(app) == 0


def _starttls_auth(certs, password=PASSWORD):
    return {
        "MAIL_USE_TLS": True,
        "MAIL_USERNAME": "mailer",
        "MAIL_PASSWORD": password,
        "MAIL_CA_FILE": certs.ca_path,
    }


SCENARIOS = {
    "nothing listening": (None, {}, "Connect to port", "Nothing is listening at 127.0.0.1:"),
    "implicit TLS where STARTTLS is set": (
        {"tls": "implicit"},
        {"MAIL_TIMEOUT": 0.5},
        "Server greeting",
        "Set MAIL_USE_SSL=true and MAIL_USE_TLS=false",
    ),
    "STARTTLS port where implicit TLS is set": (
        {"tls": "starttls"},
        {"MAIL_USE_TLS": False, "MAIL_USE_SSL": True},
        "TLS handshake (implicit TLS)",
        "Set MAIL_USE_SSL=false and MAIL_USE_TLS=true",
    ),
    "untrusted certificate": (
        {"tls": "starttls", "untrusted": True},
        {},
        "STARTTLS and TLS handshake",
        "set MAIL_CA_FILE to that CA",
    ),
    "credentials refused": (
        {"tls": "starttls"},
        {"MAIL_PASSWORD": "wrong-" + PASSWORD},
        "<strong>AUTH</strong>",
        "Gmail and Microsoft 365 refuse the normal account password here",
    ),
    "sender refused": (
        {"tls": "starttls", "refuse_sender": True},
        {},
        "MAIL FROM:&lt;no-reply@mailroom.example&gt;",
        "may not send as MAIL_DEFAULT_SENDER",
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_check_page_names_the_failing_step_with_its_hint(
    scenario, make_app, make_smtp, certs, caplog
):
    caplog.set_level(logging.DEBUG)
    server_kind, overrides, failing_title, hint = SCENARIOS[scenario]
    config = {**_starttls_auth(certs), **overrides}
    if server_kind is None:
        config["MAIL_PORT"] = free_port()
    else:
        cert = certs.untrusted if server_kind.get("untrusted") else certs.trusted
        # aiosmtpd warns about AUTH on an implicit TLS listener; that check fails before AUTH.
        auth = ("mailer", PASSWORD) if server_kind["tls"] == "starttls" else None
        server = make_smtp(tls=server_kind["tls"], cert=cert, auth=auth)
        if server_kind.get("refuse_sender"):
            server.handler.refuse_senders.add("no-reply@mailroom.example")
        config["MAIL_PORT"] = server.port
    app = make_app(**config)
    response = post_form(admin_client(app), "/admin/mail/check")
    page = text_of(response)
    assert response.status_code == 200
    assert page.count('class="step step-failed"') == 1
    failed = page.split('class="step step-failed"')[1]
    assert hint in failed
    assert failing_title in failed
    assert "Nothing was sent" in page
    assert PASSWORD not in page
    assert PASSWORD not in our_log(caplog)


def test_check_asks_about_the_admins_own_address_when_none_is_given(make_app, make_smtp):
    """A relay that will not let this login send as MAIL_DEFAULT_SENDER refuses at RCPT TO:
    the check always gets that far."""
    server = make_smtp()
    app = make_app(MAIL_PORT=server.port)
    page = text_of(post_form(admin_client(app), "/admin/mail/check"))
    assert f"RCPT TO:&lt;{ADMIN_EMAIL}&gt;" in page
    assert server.messages == []


def test_check_refuses_a_bad_recipient_address(app):
    response = post_form(admin_client(app), "/admin/mail/check", {"rcpt": "not an address"})
    assert response.status_code == 400
    assert "Enter one email address" in text_of(response)
