"""Development without an SMTP account: sign up, read the confirmation in /dev/mailbox (the
dev catcher's mail), click its button inside the email, and log in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.mail.catcher import Catcher
from tests.browser.people import expect_logged_in, submit
from tests.browser.screenshots import DESKTOP, PHONE
from tests.conftest import wait_for
from tests.smtp_server import free_port

pytestmark = pytest.mark.browser

FRAME_FITS_ITS_EMAIL = """() => {
  const frame = document.querySelector("iframe.mail-frame");
  const email = frame && frame.contentDocument;
  if (!email || email.readyState !== "complete") return false;
  return Math.abs(frame.clientHeight - email.documentElement.scrollHeight) <= 4;
}"""


@pytest.fixture
def catcher(tmp_path):
    running = Catcher(tmp_path / "dev-mailbox", port=free_port()).start()
    yield running
    running.stop()


def test_sign_up_and_confirm_through_the_dev_mailbox(serve, catcher, page, shoot):
    email, password = "developer@example.com", "a long enough passphrase"
    live = serve(
        smtp=False,
        APP_ENV="development",
        MAIL_PORT=catcher.port,
        DEV_MAILBOX_DIR=str(catcher.folder),
    )
    page.goto(f"{live.url}/dev/mailbox")
    expect(page.get_by_text("No mail yet")).to_be_visible()
    shoot(page, "empty-mailbox")

    page.goto(f"{live.url}/signup")
    page.locator("input[name=email]").fill(email)
    submit(page)

    # The sender delivers to the catcher in the background: reload as a person would.
    def mailbox_shows_the_confirmation():
        page.goto(f"{live.url}/dev/mailbox")
        return page.locator(".mailbox-item", has_text=email).count() > 0

    wait_for(mailbox_shows_the_confirmation, timeout=15, every=0.2)
    shoot(page, "mailbox")
    page.locator(".mailbox-item", has_text=email).first.click()
    frame = page.frame_locator("iframe.mail-frame")
    button = frame.get_by_role("link", name=re.compile(r"choose my password", re.I)).first
    expect(button).to_be_visible()
    for size in (PHONE, DESKTOP):  # the frame is as tall as the email, at any width
        page.set_viewport_size(size)
        page.wait_for_function(FRAME_FITS_ITS_EMAIL, timeout=5_000)
    shoot(page, "signup-email")

    with page.expect_navigation(url=re.compile(r"/confirm/")):
        button.click()
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password_confirm]").fill(password)
    submit(page)
    expect(page.get_by_text(re.compile(r"account is ready", re.IGNORECASE)).first).to_be_visible()
    page.locator("input[name=password]").fill(password)
    submit(page)
    expect_logged_in(page)
