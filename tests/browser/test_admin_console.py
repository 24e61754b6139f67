"""The rest of the admin console in a real browser: a refused message found in the outbox
and retried until it lands, the email previews, and the door closed to non-admins."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.people import expect_logged_in, fill_login, log_in_as_admin, submit
from tests.smtp_server import QUEUE_ID

pytestmark = pytest.mark.browser


def test_refused_message_shows_why_then_a_retry_delivers_it(live, page, shoot):
    live.smtp.faults.append("550 5.1.1 <gone@example.com>: Recipient address rejected")
    log_in_as_admin(live, page)
    page.locator("input[name=to]").fill("gone@example.com")
    submit(page, re.compile(r"send", re.IGNORECASE))
    expect(page.get_by_role("status").get_by_text("failed", exact=True)).to_be_visible()
    expect(page.get_by_role("status").get_by_text(re.compile(r"550"))).to_be_visible()
    shoot(page, "test-email-refused")

    page.get_by_role("link", name="Outbox", exact=True).click()
    page.get_by_label(re.compile(r"status", re.IGNORECASE)).select_option("failed")
    submit(page, "Filter")
    expect(page.locator("table.outbox tbody tr")).to_have_count(1)
    shoot(page, "outbox-failed")
    page.locator("table.outbox tbody tr a").first.click()

    submit(page, re.compile(r"retry", re.IGNORECASE))
    delivered = re.compile(rf"delivered to .* 250 .*queued as {QUEUE_ID}")
    expect(page.get_by_role("status").get_by_text(delivered)).to_be_visible()
    shoot(page, "retried-and-delivered")
    assert [m.rcpt_tos for m in live.smtp.messages] == [["gone@example.com"]]


def test_admin_reads_every_email_preview(live, page, shoot):
    log_in_as_admin(live, page)
    page.get_by_role("link", name="Previews", exact=True).click()
    links = page.locator("main table tbody tr td:first-child a")
    expect(links.first).to_be_visible()
    shoot(page, "previews")
    # Each is listed by its subject; its address ends in the template's name.
    paths = links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    for path in paths:
        name = path.rsplit("/", 1)[1]
        page.goto(f"{live.url}{path}")
        frame = page.frame_locator("iframe")
        expect(frame.locator("body")).not_to_be_empty()
        shoot(page, f"preview-{name}")
    assert live.smtp.messages == []


def test_a_person_who_is_not_an_admin_is_turned_away(live, page, shoot):
    live.user("someone@example.com", "a long enough passphrase")
    page.goto(f"{live.url}/admin/mail")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    fill_login(page, live.url, "someone@example.com", "a long enough passphrase")
    submit(page)
    expect_logged_in(page)
    response = page.goto(f"{live.url}/admin/mail")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Only admins can open this page")).to_be_visible()
    expect(page.get_by_text("Error 403")).to_be_visible()
    shoot(page, "forbidden")
