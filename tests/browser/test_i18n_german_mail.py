"""German end to end in a real browser: a browser that asks for German signs up through the
German pages, receives the German email, and finishes on the German page its link opens; a
user who chose German on the account page gets German mail even from an English browser;
and the header, unfolded when there is no dev mailbox, fits a phone in German.

What "German" means is read from the catalogue the app serves, so the tests say which
sentence is missing when a translation is."""

from __future__ import annotations

import pytest
from flask_babel import gettext
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app import i18n
from app.extensions import db
from app.models import User
from tests.browser.page_checks import TAP_TARGET, page_problems
from tests.browser.people import fill_login, submit
from tests.browser.screenshots import PHONE

pytestmark = pytest.mark.browser

GERMAN_BROWSER = {"locale": "de-DE", "extra_http_headers": {"Accept-Language": "de"}}
ENGLISH_BROWSER = {"locale": "en-GB", "extra_http_headers": {"Accept-Language": "en"}}
PASSWORD = "ein langes Passwort für Tests"


@pytest.fixture(scope="module")
def live(serve_module):
    return serve_module()


def german(live, english: str) -> str:
    """`english` as the German catalogue has it (failing if it has no German for it)."""
    with live.app.test_request_context(), i18n.speaking("de"):
        translated = gettext(english)
    assert translated != english, f"no German for {english!r} in the catalogue"
    return translated


def expect_language(page: Page, language: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", language)


def test_a_german_browser_signs_up_in_german_from_page_to_mail_to_page(live, browse):
    address = "neu@example.de"
    page = browse(**GERMAN_BROWSER)
    page.goto(f"{live.url}/signup")
    expect_language(page, "de")
    page.locator("input[name=email]").fill(address)
    submit(page)
    expect(page.get_by_role("heading", name=german(live, "Check your inbox"))).to_be_visible()

    subject = german(live, "Finish signing up for Mailroom")
    mail = live.mail_to(address, subject=subject)
    assert mail.message["Subject"] == subject
    assert german(live, "Hi there,") in mail.message.get_body(("plain",)).get_content()

    page.goto(live.link_in(mail))
    expect_language(page, "de")
    expect(page.get_by_role("heading", name=german(live, "Choose your password"))).to_be_visible()
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password_confirm]").fill(PASSWORD)
    submit(page)
    ready = german(live, "Your account is ready. Log in with your new password.")
    expect(page.get_by_text(ready)).to_be_visible()
    with live.app.app_context():
        user = db.session.scalar(select(User).where(User.email == address))
        assert user is not None and user.confirmed_at is not None


def test_a_user_who_chose_german_gets_german_mail_from_an_english_browser(live, browse):
    address = "waehlt-deutsch@example.com"
    live.user(address, PASSWORD)
    page = browse(**ENGLISH_BROWSER)
    fill_login(page, live.url, address, PASSWORD)
    submit(page)
    page.goto(f"{live.url}/account")
    expect_language(page, "en")
    page.locator("input[name=language][value=de]").check()
    with page.expect_navigation():
        page.locator('form[action$="/account/language"] button[type=submit]').click()
    expect_language(page, "de")  # the saved choice wins over the browser's English
    with page.expect_navigation():
        page.locator('header form[action$="/logout"] button').click()

    page.goto(f"{live.url}/reset-password")
    expect_language(page, "en")  # nobody is logged in: the browser's language
    page.locator("input[name=email]").fill(address)
    submit(page)
    subject = german(live, "Reset your Mailroom password")
    mail = live.mail_to(address, subject=subject)
    assert mail.message["Subject"] == subject
    assert german(live, "Hi there,") in mail.message.get_body(("plain",)).get_content()


def test_the_unfolded_german_header_fits_a_phone(live, browse, shoot):
    """Without the dev mailbox the header keeps its two links beside the brand (no menu
    button): in German, for a visitor and for a signed-in user, they fit 375 px in one row."""
    address = "kopfzeile@example.com"
    live.user(address, PASSWORD)
    page = browse(viewport=PHONE, **GERMAN_BROWSER)
    for step, path in [("visitor", "/login"), ("signed-in", "/account")]:
        if step == "signed-in":
            fill_login(page, live.url, address, PASSWORD)
            submit(page)
        page.goto(live.url + path)
        shoot.at_this_width(page, f"header-{step}")
        expect(page.locator(".menu-button")).to_be_hidden()
        assert page_problems(page, "de", german_text=True) == []
        assert page.locator("header").bounding_box()["height"] < 2 * TAP_TARGET, step
