"""Every page of Mailroom walked in a real browser, in English and in German, at 1280 and at
375 px: nothing wider than the screen, every header link or button at least 44 px tall (the
folded menu opened too), `<html lang>` the language asked for, and no English interface word
left on a German page. A screenshot of each page lands in test-artifacts/screenshots/<test>/.

One server and one set of people and mail serve the whole module; each walk only reads,
apart from a few form posts whose answers are pages of their own (errors, limits, results).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth import emails
from app.auth.tokens import change_token_for, confirm_token_for, reset_token_for, undo_token_for
from app.dev import mailbox
from app.extensions import db
from app.mail import suppression
from app.mail.catcher import Catcher
from app.models import User
from tests.browser.page_checks import overflowing, page_problems
from tests.browser.people import ADMIN, ADMIN_PASSWORD
from tests.browser.screenshots import DESKTOP, PHONE
from tests.browser.walk import PLAIN, USER, USER_PASSWORD, WALK, Site, login_errors
from tests.conftest import csrf_token, wait_for
from tests.smtp_server import free_port

pytestmark = pytest.mark.browser

# Each walk's browser: its locale, and the Accept-Language it sends.
LOCALES = {"en": "en-GB", "de": "de-DE"}
WIDTHS = {1280: DESKTOP, 375: PHONE}
# A sign-up mail in each language, for the outbox and dev mailbox pages of that language's walk.
NEWCOMERS = {"en": "newcomer@example.com", "de": "neuling@example.com"}
BOUNCED = "bounced@example.com"


@pytest.fixture(scope="module")
def catcher(tmp_path_factory):
    running = Catcher(tmp_path_factory.mktemp("dev-mailbox"), port=free_port()).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def site(serve_module, catcher, chromium) -> Site:
    """The app as `make run` serves it (development, mail caught for /dev/mailbox), with rate
    limits on (one walk step is the 429 page), a user, an admin, a suppressed address, and a
    sign-up mail in each language sent and caught."""
    live = serve_module(
        smtp=False,
        APP_ENV="development",
        MAIL_PORT=catcher.port,
        DEV_MAILBOX_DIR=str(catcher.folder),
        RATELIMIT_ENABLED=True,
    )
    live.user(USER, USER_PASSWORD)
    live.user(ADMIN, ADMIN_PASSWORD, is_admin=True)
    with live.app.app_context():
        common = _links_and_rows()
        outbox = {lang: emails.send_signup_email(NEWCOMERS[lang], locale=lang) for lang in LOCALES}
        db.session.commit()
        outbox_ids = {lang: str(row.id) for lang, row in outbox.items()}
    caught = wait_for(lambda: _caught_ids(catcher), timeout=15)
    values = {
        lang: {**common, "outbox": outbox_ids[lang], "caught": caught[NEWCOMERS[lang]]}
        for lang in LOCALES
    }
    signed_in = {
        "user": _log_in(chromium, live.url, USER, USER_PASSWORD),
        "admin": _log_in(chromium, live.url, ADMIN, ADMIN_PASSWORD),
    }
    return Site(live.url, values, signed_in)


def _links_and_rows() -> dict[str, str]:
    """Tokens of every emailed link (made as the mail would make them) and a suppression."""
    user = db.session.scalar(select(User).where(User.email == USER))
    suppression.add(BOUNCED, suppression.HARD_BOUNCE, suppression.SMTP, "550 5.1.1 no such user")
    db.session.commit()
    entry = db.session.scalar(
        select(suppression.Suppression.id).where(suppression.Suppression.address == BOUNCED)
    )
    return {
        "confirm": confirm_token_for("joiner@example.com"),
        "reset": reset_token_for(user),
        "change": change_token_for(user, "walker@new.example.com"),
        "undo": undo_token_for(user, "walker@old.example.com"),
        "suppression": str(entry),
    }


def _caught_ids(catcher) -> dict[str, str] | None:
    by_recipient = {m.to: m.id for m in mailbox.summaries(catcher.folder)}
    if all(address in by_recipient for address in NEWCOMERS.values()):
        return by_recipient
    return None


def _log_in(chromium, url: str, email: str, password: str) -> dict:
    """The session cookie of a log-in through the form, posted without drawing the page
    (the walk draws it: logging in is not what is measured here)."""
    context = chromium.new_context()
    token = csrf_token(context.request.get(f"{url}/login").text())
    form = {"csrf_token": token, "email": email, "password": password}
    answer = context.request.post(f"{url}/login", form=form, max_redirects=0)
    assert answer.status == 302, f"logging in as {email} answered {answer.status}"
    context.request.get(url)  # shows (so uses up) "You are logged in.", in English
    state = context.storage_state()
    context.close()
    return state


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LOCALES)
def test_every_page_fits_the_screen_in_its_language(site, browse, shoot, language, width):
    problems: list[str] = []
    for person, steps in WALK:
        tab = browse(
            viewport=WIDTHS[width],
            locale=LOCALES[language],
            extra_http_headers={"Accept-Language": language},
            storage_state=site.signed_in.get(person),
        )
        for index, (step, how) in enumerate(steps):
            try:
                if callable(how):
                    how(tab, site)
                else:
                    tab.goto(site.url + how.format(**site.values[language]))
            except Exception as error:  # say where the walk stopped, then stop
                raise AssertionError(f"{language} {width}px {step}: {error}") from error
            if step in PLAIN:
                found = overflowing(tab)
            else:
                german, first = language == "de", index == 0
                found = page_problems(tab, language, german_text=german, open_menu=first)
            problems += [f"{language} {width}px {step} ({tab.url}): {p}" for p in found]
            shoot.at_this_width(tab, step)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_a_long_menu_folds_on_a_phone_and_marks_the_page(site, browse, shoot):
    page = browse(storage_state=site.signed_in["admin"], locale="en-GB")
    page.goto(f"{site.url}/account")
    page.set_viewport_size(PHONE)
    header = page.locator("header")
    menu = page.locator(".menu-button")
    expect(menu).to_be_visible()
    expect(page.locator("#site-menu")).to_be_hidden()
    # One row: the brand and the button, nothing wrapped beneath.
    assert header.bounding_box()["height"] < 88
    menu.click()
    links = page.locator("#site-menu a, #site-menu button")
    expect(links).to_have_count(4)
    expect(page.locator('#site-menu [aria-current="page"]')).to_have_text("Account")
    boxes = [links.nth(i).bounding_box() for i in range(4)]
    assert all(box["height"] >= 44 for box in boxes)
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


def test_pages_follow_a_dark_colour_scheme(site, browse, shoot):
    page = browse(color_scheme="dark", locale="en-GB")
    login_errors(page, site)
    assert _is_dark(page.evaluate("getComputedStyle(document.body).backgroundColor"))
    shoot(page, "login-errors-dark")
    for step, path in [("home-dark", "/"), ("dev-mailbox-dark", "/dev/mailbox")]:
        page.goto(site.url + path)
        shoot(page, step)
    admin = browse(color_scheme="dark", storage_state=site.signed_in["admin"])
    for step, path in [("account-dark", "/account"), ("admin-mail-dark", "/admin/mail")]:
        admin.goto(site.url + path)
        shoot(admin, step)
    admin.emulate_media(color_scheme="light")
    admin.goto(f"{site.url}/account")
    assert not _is_dark(admin.evaluate("getComputedStyle(document.body).backgroundColor"))


def _is_dark(css_colour: str) -> bool:
    red, green, blue = (int(n) for n in re.findall(r"\d+", css_colour)[:3])
    return (red + green + blue) / 3 < 64


def test_the_page_checks_name_what_is_wrong(site, browse):
    """The walk's checks are not blind: a box too wide, text running out of its box, a header
    link too short, English on a German page and the wrong `lang` are each named."""
    page = browse(viewport=PHONE, locale="de-DE", extra_http_headers={"Accept-Language": "de"})
    page.goto(f"{site.url}/login")
    page.evaluate("""() => {
      document.documentElement.lang = "en";
      document.querySelector("header a").style.cssText = "min-height: 0; height: 20px";
      const wide = document.createElement("p");
      wide.className = "too-wide";
      wide.style.width = "500px";
      wide.textContent = "Your Password";
      document.querySelector("main").append(wide);
      const label = document.createElement("span");
      label.className = "unbroken";
      label.style.cssText = "display: block; width: 100px; white-space: nowrap";
      label.textContent = "Zustellversuche ".repeat(4);
      document.querySelector("main").append(label);
    }""")
    found = "\n".join(page_problems(page, "de", german_text=True))
    assert "p.too-wide spans" in found
    assert "text of span.unbroken spans 16.." in found
    assert 'header target "Mailroom" is 20px tall' in found
    assert '<html lang="en">, not "de"' in found
    assert 'English "Your"' in found and 'English "Password"' in found
