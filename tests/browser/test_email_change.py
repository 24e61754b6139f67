"""Changing the address in a real browser: the request on the account page, the link from
the new mailbox, its button; then the old mailbox's undo, which asks for a new password."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.people import expect_logged_in, fill_login, submit

pytestmark = pytest.mark.browser


def test_change_the_address_then_undo_it_from_the_old_mailbox(live, page, other_page, shoot):
    old, new, password = "mover@example.com", "mover@new.example.com", "the owner's passphrase"
    live.user(old, password)
    fill_login(page, live.url, old, password)
    submit(page)
    expect_logged_in(page)

    page.goto(f"{live.url}/account")
    page.get_by_role("link", name=re.compile(r"change email address", re.I)).click()
    page.locator("input[name=email]").fill(new)
    page.locator("input[name=current_password]").fill(password)
    shoot(page, "change-email-form")
    submit(page)
    expect(
        page.get_by_role("heading", name=re.compile(r"check the new inbox", re.I))
    ).to_be_visible()
    shoot(page, "change-email-sent")
    live.mail_to(old, subject="being changed")

    page.goto(live.link_in(live.mail_to(new, subject="new address")))
    expect(page.get_by_text(new)).to_be_visible()
    shoot(page, "change-email-confirm")
    submit(page)
    expect(page.get_by_text(re.compile(r"your address is now", re.I))).to_be_visible()
    shoot(page, "change-email-done")

    other_page.goto(live.link_in(live.mail_to(old, subject="was changed")))
    expect(
        other_page.get_by_role("heading", name=re.compile(r"take your account back", re.I))
    ).to_be_visible()
    shoot(other_page, "undo-page")
    submit(other_page)
    expect(other_page).to_have_url(re.compile(r"/reset-password/"))
    shoot(other_page, "undo-choose-password")
    fresh = "a fresh passphrase here"
    other_page.locator("input[name=password]").fill(fresh)
    other_page.locator("input[name=password_confirm]").fill(fresh)
    submit(other_page)
    fill_login(other_page, live.url, old, fresh)
    submit(other_page)
    expect_logged_in(other_page)
    page.reload()
    expect(page).to_have_url(re.compile(r"/login"))
