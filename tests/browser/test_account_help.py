"""The flows for a person who is stuck: an account that was never completed, a sign-up
link that does not work, and changing the password from the account page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.people import (
    expect_logged_in,
    expect_logged_out,
    fill_login,
    submit,
)

pytestmark = pytest.mark.browser

CHECK_INBOX = re.compile(r"check your inbox", re.IGNORECASE)


def test_an_account_from_before_email_first_sign_up_is_completed_by_a_new_link(live, page, shoot):
    """Unconfirmed, made when sign-up took a password: that password answers like any wrong
    one, and the "didn't get your link?" page sends a link that completes the account."""
    email, old, new = "slow.reader@example.com", "a long enough passphrase", "my own passphrase"
    live.user(email, old, confirmed=False)
    fill_login(page, live.url, email, old)
    submit(page)
    expect(page.get_by_text("Invalid email or password")).to_be_visible()
    expect_logged_out(page)
    shoot(page, "refused")
    page.get_by_role("link", name=re.compile(r"sign-up link", re.I)).click()
    page.locator("input[name=email]").fill(email)
    submit(page)
    expect(page.get_by_role("heading", name=CHECK_INBOX)).to_be_visible()

    page.goto(live.link_in(live.mail_to(email, subject="signing up")))
    page.locator("input[name=password]").fill(new)
    page.locator("input[name=password_confirm]").fill(new)
    submit(page)
    page.locator("input[name=password]").fill(new)
    submit(page)
    expect_logged_in(page)


def test_a_broken_confirmation_link_explains_itself_and_offers_a_resend(live, page, shoot):
    email = "mangled.link@example.com"
    live.user(email, "a long enough passphrase", confirmed=False)
    page.goto(f"{live.url}/confirm/this-is-not-a-token")
    expect(page.get_by_role("heading", name=re.compile(r"no longer works", re.I))).to_be_visible()
    shoot(page, "link-invalid")
    page.locator("input[name=email]").fill(email)
    submit(page)
    expect(page.get_by_role("heading", name=CHECK_INBOX)).to_be_visible()
    shoot(page, "new-link-sent")
    assert "/confirm/" in live.link_in(live.mail_to(email, subject="signing up"))


def test_changing_the_password_on_the_account_page_logs_out_other_browsers(
    live, page, other_page, shoot
):
    email, old, new = "careful@example.com", "the old passphrase", "a brand new passphrase"
    live.user(email, old)
    for tab in (page, other_page):
        fill_login(tab, live.url, email, old)
        submit(tab)
        expect_logged_in(tab)

    page.get_by_role("link", name=re.compile(r"account", re.IGNORECASE)).first.click()
    expect(page).to_have_url(f"{live.url}/account")
    shoot(page, "account")
    page.get_by_role("link", name=re.compile(r"change password", re.IGNORECASE)).click()
    page.locator("input[name=current_password]").fill("not my password")
    page.locator("input[name=password]").fill(new)
    page.locator("input[name=password_confirm]").fill(new)
    submit(page)
    expect(page.get_by_text(re.compile(r"not your current password", re.I))).to_be_visible()
    shoot(page, "wrong-current-password")

    page.locator("input[name=current_password]").fill(old)
    page.locator("input[name=password]").fill(new)
    page.locator("input[name=password_confirm]").fill(new)
    submit(page)
    expect(page.get_by_text(re.compile(r"password is changed", re.I))).to_be_visible()
    expect_logged_in(page)
    shoot(page, "password-changed")
    live.mail_to(email, subject="changed")

    other_page.reload()
    expect_logged_out(other_page)
