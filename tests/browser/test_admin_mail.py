"""The admin mail console in a real browser: a test email followed until the SMTP server's
reply shows, and the connection doctor naming the failing step with a hint."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.people import ADMIN, log_in_as_admin, submit
from tests.smtp_server import QUEUE_ID

pytestmark = pytest.mark.browser


def test_admin_sends_a_test_email_and_sees_the_server_reply(live, page, shoot):
    log_in_as_admin(live, page, shoot)
    expect(page.locator("input[name=to]")).to_have_value(ADMIN)
    page.locator("input[name=to]").fill("ops@example.com")
    submit(page, re.compile(r"send", re.IGNORECASE))
    # The page reloads itself until the message lands, then says where and what the server said.
    delivered = re.compile(
        rf"delivered to 127\.0\.0\.1:{live.smtp.port} — 250 .*queued as {QUEUE_ID}"
    )
    expect(page.get_by_text(delivered)).to_be_visible()
    shoot(page, "test-email-delivered")
    received = live.mail_to("ops@example.com")
    assert received.mail_from == "no-reply@mailroom.example"


def test_doctor_shows_nothing_listening_with_a_hint(serve, page, shoot):
    live = serve(smtp=False)
    log_in_as_admin(live, page)
    submit(page, re.compile(r"check", re.IGNORECASE))
    expect(page).to_have_url(re.compile(r"/admin/mail/check"))
    expect(page.get_by_text(re.compile(r"Failed at .Connect.*Nothing was sent"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Nothing is listening.*MAIL_PORT"))).to_be_visible()
    shoot(page, "doctor-nothing-listening")


# AUTH over plain text on loopback is the point of this server; aiosmtpd warns about it.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_doctor_shows_refused_credentials_without_the_password(serve, make_smtp, page, shoot):
    server = make_smtp(auth=("mailer", "the right password"))
    live = serve(smtp=server, MAIL_USERNAME="mailer", MAIL_PASSWORD="wrong-password-9z")
    log_in_as_admin(live, page)
    submit(page, re.compile(r"check", re.IGNORECASE))
    expect(page.get_by_text(re.compile(r"Failed at .AUTH.*Nothing was sent"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"\b535\b")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"app password", re.IGNORECASE)).first).to_be_visible()
    shoot(page, "doctor-credentials-refused")
    assert "wrong-password-9z" not in page.content()
    assert server.auth_attempts and set(server.auth_attempts) == {"refused"}
