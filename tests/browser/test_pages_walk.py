"""Every page, walked in a real browser at 1280 and 375 px: nothing wider than the screen,
every header link or button at least 44 px tall on a phone (the folded menu opened too),
the page being shown marked in the menu, and a few pages in dark mode as well.
Screenshots of each land in test-artifacts/screenshots/<test>/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.auth.tokens import confirm_token_for, reset_token_for
from app.extensions import db
from app.mail.catcher import Catcher
from app.mail.models import OutboxMessage
from app.models import User
from tests.browser.people import ADMIN, ADMIN_PASSWORD, expect_logged_in, fill_login, submit
from tests.browser.screenshots import DESKTOP, PHONE
from tests.conftest import wait_for
from tests.smtp_server import free_port

pytestmark = pytest.mark.browser

USER, USER_PASSWORD = "walker@example.com", "a long enough passphrase"
TAP_TARGET = 44

# Boxes reaching past either edge of the page. A box its ancestor clips (overflow hidden, as
# for the visually hidden column names of a table shown as cards) is not seen; one inside a
# scrolling box is, since the person would have to scroll it sideways.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (["hidden", "clip"].includes(style.overflowX)) return true;
    }
    return false;
  };
  const found = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if ((box.right > width + 1 || box.left < -1) && !clipped(el)) {
      const name = el.tagName.toLowerCase() + "." + String(el.className).trim();
      const text = (el.textContent || "").trim().slice(0, 40);
      found.push(`${name} ${Math.round(box.left)}..${Math.round(box.right)}: ${text}`);
    }
  }
  return found;
}"""
# Every link or button the header shows, with its height.
HEADER_TARGETS = """() => [...document.querySelectorAll("header a, header button")]
  .filter(el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden")
  .map(el => [el.textContent.trim(), el.getBoundingClientRect().height])"""


@pytest.fixture
def catcher(tmp_path):
    running = Catcher(tmp_path / "dev-mailbox", port=free_port()).start()
    yield running
    running.stop()


@pytest.fixture
def dev_live(serve, catcher):
    """The app as `make run` serves it: development, its mail caught for /dev/mailbox."""
    live = serve(
        smtp=False,
        APP_ENV="development",
        MAIL_PORT=catcher.port,
        DEV_MAILBOX_DIR=str(catcher.folder),
    )
    live.user(USER, USER_PASSWORD)
    live.user(ADMIN, ADMIN_PASSWORD, is_admin=True)
    return live


def check_page(page: Page, shoot, step: str) -> None:
    """The checks at both widths, then the screenshots (which check sideways scrolling)."""
    assert page.evaluate(OVERFLOWING) == [], f"{step} ({page.url}) is wider than 1280 px"
    page.set_viewport_size(PHONE)
    try:
        assert page.evaluate(OVERFLOWING) == [], f"{step} ({page.url}) is wider than 375 px"
        _check_header_targets(page, step)
        menu = page.locator(".menu-button")
        if menu.is_visible():
            menu.click()
            expect(menu).to_have_attribute("aria-expanded", "true")
            _check_header_targets(page, f"{step}, menu open")
            assert page.evaluate(OVERFLOWING) == [], f"{step}: the open menu is too wide"
            menu.click()
    finally:
        page.set_viewport_size(DESKTOP)
    shoot(page, step)


def _check_header_targets(page: Page, step: str) -> None:
    targets = page.evaluate(HEADER_TARGETS)
    assert targets, f"{step}: no link in the header"
    small = [(label, height) for label, height in targets if height < TAP_TARGET]
    assert not small, f"{step} ({page.url}): header targets under {TAP_TARGET} px: {small}"


def visit(page: Page, url: str, shoot, step: str) -> None:
    page.goto(url)
    check_page(page, shoot, step)


def log_in(page: Page, live, email: str, password: str) -> None:
    fill_login(page, live.url, email, password)
    submit(page)
    expect_logged_in(page)


def log_out(page: Page) -> None:
    with page.expect_navigation():
        page.locator("header").get_by_role("button", name="Log out").click()


def test_every_page_fits_a_phone_with_thumb_sized_header_targets(dev_live, catcher, page, shoot):
    live = dev_live
    base = live.url
    with live.app.app_context():
        confirm = confirm_token_for("newcomer@example.com")
        reset = reset_token_for(db.session.scalar(select(User).where(User.email == USER)))

    for step, path in [
        ("home", "/"),
        ("signup", "/signup"),
        ("login", "/login"),
        ("reset-request", "/reset-password"),
        ("resend", "/confirm/resend"),
        ("check-inbox", "/check-your-inbox/signup"),
        ("choose-password", f"/confirm/{confirm}"),
        ("confirm-invalid", "/confirm/not-a-token"),
        ("reset-password", f"/reset-password/{reset}"),
        ("reset-invalid", "/reset-password/not-a-token"),
        ("not-found", "/no-such-page"),
    ]:
        visit(page, base + path, shoot, step)

    page.goto(f"{base}/login")
    submit(page)  # nothing typed: two problems, summed up above the form
    expect(page.locator(".error-summary")).to_be_visible()
    check_page(page, shoot, "login-errors")

    page.goto(f"{base}/signup")
    page.locator("input[name=email]").fill("newcomer@example.com")
    submit(page)
    wait_for(lambda: list(catcher.folder.glob("*.eml")), timeout=15)
    visit(page, f"{base}/dev/mailbox", shoot, "dev-mailbox")
    page.locator(".mailbox-item").first.click()
    expect(page.frame_locator("iframe.mail-frame").get_by_text("Finish signing up")).to_be_visible()
    check_page(page, shoot, "dev-message")

    log_in(page, live, USER, USER_PASSWORD)
    check_page(page, shoot, "home-signed-in")
    for step, path in [
        ("account", "/account"),
        ("change-password", "/account/password"),
        ("change-email", "/account/email"),
        ("admins-only", "/admin/mail"),
    ]:
        visit(page, base + path, shoot, step)
    log_out(page)

    log_in(page, live, ADMIN, ADMIN_PASSWORD)
    with live.app.app_context():
        message_id = db.session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id))
    for step, path in [
        ("admin-home", "/"),
        ("admin-mail", "/admin/mail"),
        ("admin-outbox", "/admin/mail/outbox"),
        ("admin-message", f"/admin/mail/outbox/{message_id}"),
        ("admin-previews", "/admin/mail/previews"),
        ("admin-preview", "/admin/mail/previews/confirm_email"),
    ]:
        visit(page, base + path, shoot, step)


def test_a_long_menu_folds_on_a_phone_and_marks_the_page(dev_live, page, shoot):
    log_in(page, dev_live, ADMIN, ADMIN_PASSWORD)
    page.goto(f"{dev_live.url}/account")
    page.set_viewport_size(PHONE)
    header = page.locator("header")
    menu = page.locator(".menu-button")
    expect(menu).to_be_visible()
    expect(page.locator("#site-menu")).to_be_hidden()
    # One row: the brand and the button, nothing wrapped beneath.
    assert header.bounding_box()["height"] < 2 * TAP_TARGET
    menu.click()
    links = page.locator("#site-menu a, #site-menu button")
    expect(links).to_have_count(4)
    expect(page.locator('#site-menu [aria-current="page"]')).to_have_text("Account")
    boxes = [links.nth(i).bounding_box() for i in range(4)]
    assert all(box["height"] >= TAP_TARGET for box in boxes)
    assert [box["y"] for box in boxes] == sorted({box["y"] for box in boxes})  # one per row
    shoot(page, "menu-open")  # leaves the page at desktop width
    page.set_viewport_size(PHONE)
    page.keyboard.press("Escape")
    expect(page.locator("#site-menu")).to_be_hidden()
    expect(menu).to_be_focused()
    page.set_viewport_size(DESKTOP)
    # On a wide screen every entry shows, no button.
    expect(menu).to_be_hidden()
    expect(page.locator("#site-menu")).to_be_visible()


def test_pages_follow_a_dark_colour_scheme(dev_live, page, shoot):
    page.emulate_media(color_scheme="dark")
    page.goto(f"{dev_live.url}/login")
    submit(page)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert _is_dark(background), background
    shoot(page, "login-errors-dark")
    for step, path in [("home-dark", "/"), ("dev-mailbox-dark", "/dev/mailbox")]:
        page.goto(dev_live.url + path)
        shoot(page, step)
    log_in(page, dev_live, ADMIN, ADMIN_PASSWORD)
    for step, path in [("account-dark", "/account"), ("admin-mail-dark", "/admin/mail")]:
        page.goto(dev_live.url + path)
        shoot(page, step)
    page.emulate_media(color_scheme="light")
    page.goto(f"{dev_live.url}/account")
    assert not _is_dark(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def _is_dark(css_colour: str) -> bool:
    red, green, blue = (int(n) for n in re.findall(r"\d+", css_colour)[:3])
    return (red + green + blue) / 3 < 64
