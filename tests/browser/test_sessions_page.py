"""The account page's list of sessions in a real browser: a second browser shows up, is
logged out from the first with one button, and "log out all other sessions" does the rest."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.people import expect_logged_in, expect_logged_out, fill_login, submit

pytestmark = pytest.mark.browser


def log_in(live, tab, email, password):
    fill_login(tab, live.url, email, password)
    submit(tab)
    expect_logged_in(tab)


def test_logging_out_another_browser_from_the_account_page(live, page, other_page, shoot):
    email, password = "two.devices@example.com", "a long enough passphrase"
    live.user(email, password)
    log_in(live, other_page, email, password)
    log_in(live, page, email, password)

    page.goto(f"{live.url}/account")
    sessions = page.locator("ul.sessions > li")
    expect(sessions).to_have_count(2)
    expect(sessions.first).to_contain_text("this session")
    expect(sessions.nth(1)).to_contain_text("Chrome on Linux")
    shoot(page, "two-sessions")

    with page.expect_navigation():
        sessions.nth(1).get_by_role("button", name=re.compile(r"^log out", re.I)).click()
    expect(page.get_by_text("That session is logged out.")).to_be_visible()
    expect(sessions).to_have_count(1)
    shoot(page, "one-logged-out")
    other_page.reload()
    expect_logged_out(other_page)

    log_in(live, other_page, email, password)
    page.reload()
    with page.expect_navigation():
        page.get_by_role("button", name="Log out all other sessions").click()
    expect(page.get_by_text("Logged out 1 other session.")).to_be_visible()
    expect(sessions).to_have_count(1)
    shoot(page, "others-logged-out")
    other_page.reload()
    expect_logged_out(other_page)
