"""The mail console in a real browser: an email's frame is exactly as tall as the email on
the message and preview pages, at 1280 and at 375 px; on a phone the outbox shows no empty
line in its cards; and the filter's controls share one height and one bottom edge."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from app.mail import send_email
from tests.browser.people import log_in_as_admin
from tests.browser.screenshots import DESKTOP, PHONE
from tests.conftest import wait_for

pytestmark = pytest.mark.browser

FRAME_FITS_ITS_EMAIL = """() => {
  const frame = document.querySelector("iframe.email-frame");
  const email = frame && frame.contentDocument;
  if (!email || email.readyState !== "complete" || !email.body) return false;
  return Math.abs(frame.clientHeight - email.documentElement.scrollHeight) <= 4;
}"""


def _frame_fits_at_both_widths(page: Page) -> None:
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        page.wait_for_function(FRAME_FITS_ITS_EMAIL, timeout=5_000)


def test_email_frames_are_as_tall_as_their_email(live, page, shoot):
    log_in_as_admin(live, page)
    with live.app.app_context():
        row = send_email(
            "ada@example.com",
            "reset_password",
            user_email="ada@example.com",
            reset_url=f"{live.url}/reset-password/x",
            expires_in="1 hour",
            code=None,
        )
        db.session.commit()
        message_id = row.id
    live.mail_to("ada@example.com", subject="Reset")
    page.goto(f"{live.url}/admin/mail/outbox/{message_id}")
    _frame_fits_at_both_widths(page)
    shoot(page, "message")
    page.goto(f"{live.url}/admin/mail/previews/confirm_email")
    expect(page.get_by_role("heading", name="Finish signing up for Mailroom")).to_be_visible()
    _frame_fits_at_both_widths(page)
    shoot(page, "preview")


def test_the_outbox_on_a_phone_has_no_empty_lines_and_aligned_filters(live, page, shoot):
    log_in_as_admin(live, page)
    with live.app.app_context():
        for n in range(3):
            send_email(f"person{n}@a-long-domain-name.example.com", "test_email")
        db.session.commit()
    wait_for(lambda: len(live.smtp.messages) >= 3)
    page.goto(f"{live.url}/admin/mail/outbox")
    controls = page.locator(".filters select, .filters input, .filters button")
    boxes = [controls.nth(i).bounding_box() for i in range(controls.count())]
    assert len({round(box["height"]) for box in boxes}) == 1, boxes
    assert len({round(box["y"] + box["height"]) for box in boxes}) == 1, boxes
    shoot(page, "outbox")

    page.set_viewport_size(PHONE)
    try:
        cells = page.locator(".cards td")
        shown = [cells.nth(i) for i in range(cells.count()) if cells.nth(i).is_visible()]
        assert shown and all(cell.inner_text().strip() for cell in shown)
        # The template name is a line of its own under the subject.
        subject = page.locator(".cards td[data-label=Subject]").first
        link, template = subject.locator("a"), subject.locator(".template-name")
        assert (
            template.bounding_box()["y"]
            >= link.bounding_box()["y"] + link.bounding_box()["height"] - 1
        )
    finally:
        page.set_viewport_size(DESKTOP)
