"""A person's account flows in a real browser: sign up and confirm from the email, log in and
out; forget the password, reset it from the email, and log in with the new one."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.people import (
    expect_logged_in,
    expect_logged_out,
    fill_login,
    log_out_button,
    submit,
)

pytestmark = pytest.mark.browser

INVALID_LOGIN = "Invalid email or password"


def test_sign_up_choose_the_password_from_the_email_log_in_and_out(live, page, shoot):
    email, password = "new.person@example.com", "a long enough passphrase"
    page.goto(f"{live.url}/")
    shoot(page, "home")
    page.get_by_role("link", name=re.compile(r"sign\s*up", re.IGNORECASE)).first.click()
    expect(page).to_have_url(f"{live.url}/signup")
    expect(page.locator("input[name=password]")).to_have_count(0)  # email-first
    page.locator("input[name=email]").fill(email)
    shoot(page, "signup-form")
    submit(page)
    expect(page.get_by_text(re.compile(r"check your (e-?mail|inbox)", re.I)).first).to_be_visible()
    shoot(page, "signup-sent")

    page.goto(live.link_in(live.mail_to(email, subject="signing up")))
    expect(
        page.get_by_role("heading", name=re.compile(r"choose your password", re.I))
    ).to_be_visible()
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password_confirm]").fill(password)
    shoot(page, "choose-password")
    submit(page)
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("input[name=email]")).to_have_value(email)
    shoot(page, "account-ready")

    page.locator("input[name=password]").fill(password)
    shoot(page, "login-form")
    submit(page)
    expect_logged_in(page)
    shoot(page, "logged-in")

    with page.expect_navigation():
        log_out_button(page).click()
    expect_logged_out(page)
    shoot(page, "logged-out")
    page.goto(f"{live.url}/account")
    expect(page).to_have_url(re.compile(r"/login"))


def test_choosing_a_mistyped_password_shows_the_error_beside_the_field(live, page, shoot):
    email = "typo@example.com"
    page.goto(f"{live.url}/signup")
    page.locator("input[name=email]").fill(email)
    submit(page)
    link = live.link_in(live.mail_to(email, subject="signing up"))
    page.goto(link)
    page.locator("input[name=password]").fill("a long enough passphrase")
    page.locator("input[name=password_confirm]").fill("a long enough passphrose")
    submit(page)
    expect(page).to_have_url(link)
    expect(page.get_by_text(re.compile(r"passwords (differ|do not match)", re.I))).to_be_visible()
    shoot(page, "choose-password-errors")


def test_a_used_sign_up_link_says_so_and_offers_a_new_one(live, page, shoot):
    email, password = "twice@example.com", "a long enough passphrase"
    page.goto(f"{live.url}/signup")
    page.locator("input[name=email]").fill(email)
    submit(page)
    link = live.link_in(live.mail_to(email, subject="signing up"))
    page.goto(link)
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password_confirm]").fill(password)
    submit(page)
    page.goto(link)
    expect(page.get_by_text(re.compile(r"no longer works", re.I))).to_be_visible()
    expect(page.locator("main form input[name=email]")).to_be_visible()
    shoot(page, "link-used")


def test_forgotten_password_reset_from_the_email_then_only_the_new_one_works(live, page, shoot):
    email, old, new = "forgetful@example.com", "the old passphrase", "a brand new passphrase"
    live.user(email, old)
    page.goto(f"{live.url}/login")
    page.get_by_role("link", name=re.compile(r"forgot|reset", re.IGNORECASE)).first.click()
    expect(page).to_have_url(re.compile(r"/reset-password$"))
    page.locator("input[name=email]").fill(email)
    shoot(page, "reset-request-form")
    submit(page)
    expect(page.get_by_text(re.compile(r"check your (e-?mail|inbox)", re.I)).first).to_be_visible()
    shoot(page, "reset-requested")

    page.goto(live.link_in(live.mail_to(email, subject="reset")))
    page.locator("input[name=password]").fill(new)
    page.locator("input[name=password_confirm]").fill(new)
    shoot(page, "new-password-form")
    submit(page)
    expect(page).to_have_url(re.compile(r"/login"))
    shoot(page, "password-reset")
    live.mail_to(email, subject="changed")

    fill_login(page, live.url, email, old)
    submit(page)
    expect(page.get_by_text(INVALID_LOGIN)).to_be_visible()
    expect_logged_out(page)
    shoot(page, "old-password-refused")

    fill_login(page, live.url, email, new)
    submit(page)
    expect_logged_in(page)
    shoot(page, "logged-in-with-new-password")


def test_signing_up_again_with_a_taken_address_looks_the_same_and_tells_the_owner(
    live, page, shoot
):
    email = "taken@example.com"
    live.user(email, "the owner's passphrase")
    page.goto(f"{live.url}/signup")
    page.locator("input[name=email]").fill(email)
    submit(page)
    expect(page.get_by_text(re.compile(r"check your (e-?mail|inbox)", re.I)).first).to_be_visible()
    shoot(page, "signup-sent")
    notice = live.mail_to(email, subject="sign up")
    assert [m.message["Subject"] for m in live.smtp.messages] == [notice.message["Subject"]]
