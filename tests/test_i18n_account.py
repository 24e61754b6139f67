"""The account pages speak the user's language: the choice saved on the account page, else
the browser's Accept-Language, else English. The choice takes effect on the answer that saves
it, outlives the session, and refuses anything but the languages offered.

One app on SQLite for the whole module (the choice is one column; no mail is sent here, the
emails' language is tests/test_i18n_emails.py's): each test has users of its own."""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.dates import get_month_names
from sqlalchemy import select

from app import clock, create_app, i18n
from app.auth import tokens
from app.auth.passwords import hash_password
from app.auth.user_agents import describe
from app.extensions import db
from app.models import User
from tests.accounts import PASSWORD, submit
from tests.conftest import base_config, csrf_token
from tests.sessions_helpers import CHROME_ON_LINUX, FIREFOX_ON_WINDOWS

GERMAN_MONTHS = tuple(get_month_names("wide", locale="de").values())
ENGLISH_MONTHS = tuple(get_month_names("wide", locale="en").values())


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    database = tmp_path_factory.mktemp("i18n-account") / "mailroom.db"
    app = create_app(base_config(f"sqlite:///{database}", MAIL_SENDER_THREADS=0))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def add_user(app, email: str) -> None:
    """A confirmed user with the tests' password (hashed once: scrypt is slow on purpose)."""
    with app.app_context():
        user = User(email=email, password_hash=_password_hash(), confirmed_at=clock.utcnow())
        db.session.add(user)
        db.session.commit()


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def browser(app, language: str = "en", user_agent: str = CHROME_ON_LINUX):
    """A client whose every request says `Accept-Language: language`."""
    client = app.test_client()
    client.environ_base.update(HTTP_ACCEPT_LANGUAGE=language, HTTP_USER_AGENT=user_agent)
    return client


def logged_in(app, email: str, language: str = "en", **kwargs):
    client = browser(app, language, **kwargs)
    answer = submit(client, "/login", {"email": email, "password": PASSWORD})
    assert answer.status_code == 302, answer.text
    return client


def saved_language(app, email: str) -> str | None:
    with app.app_context():
        return db.session.scalar(select(User.locale).where(User.email == email))


def choose(client, language: str | None):
    """Post the account page's language form (None: post it with no choice at all)."""
    data = {} if language is None else {"language": language}
    return submit(client, "/account/language", data, page="/account")


def checked_choice(page: str) -> list[str]:
    return re.findall(r'<input checked[^>]*name="language"[^>]*value="([^"]+)"', page)


def test_choosing_deutsch_makes_the_account_page_german_for_an_english_browser(app):
    add_user(app, "lena@example.com")
    client = logged_in(app, "lena@example.com", "en")
    before = client.get("/account").text
    assert "Your account" in before and checked_choice(before) == ["browser"]

    answer = choose(client, "de")
    assert answer.status_code == 302 and answer.location == "/account"
    page = client.get("/account").text
    # The flash was written by the answer that saved the choice: German already.
    assert "Mailroom spricht jetzt Deutsch mit Ihnen." in page
    assert '<html lang="de">' in page and "<h1>Ihr Konto</h1>" in page
    assert "Your account" not in page and "Where you are logged in" not in page
    assert checked_choice(page) == ["de"]
    assert '<span lang="de">Deutsch</span>' in page  # each name in its own language
    assert saved_language(app, "lena@example.com") == "de"


def test_browser_language_follows_accept_language_again(app):
    add_user(app, "jonas@example.com")
    client = logged_in(app, "jonas@example.com", "en")
    choose(client, "de")

    answer = choose(client, "browser")
    assert answer.status_code == 302
    assert saved_language(app, "jonas@example.com") is None  # no choice stored, not "en"
    page = client.get("/account").text
    assert "Mailroom now follows your browser&#39;s language." in page
    assert "Your account" in page and checked_choice(page) == ["browser"]
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-AT,de;q=0.9,en;q=0.5"
    assert "<h1>Ihr Konto</h1>" in client.get("/account").text


def test_english_chosen_wins_over_a_german_browser(app):
    add_user(app, "mia@example.com")
    client = logged_in(app, "mia@example.com", "de")
    assert "<h1>Ihr Konto</h1>" in client.get("/account").text
    choose(client, "en")
    page = client.get("/account").text
    assert "Mailroom now speaks English to you." in page and "<h1>Your account</h1>" in page
    assert saved_language(app, "mia@example.com") == "en"


def test_a_choice_not_offered_is_a_form_error_and_changes_nothing(app):
    add_user(app, "paul@example.com")
    client = logged_in(app, "paul@example.com", "en")
    choose(client, "de")
    for posted in ("fr", "", "DE", "de' or 1=1", "x" * 5000, None):
        answer = choose(client, posted)
        assert answer.status_code == 200, posted
        assert "Wählen Sie eine der angebotenen Sprachen." in answer.text
        assert 'aria-describedby="language-error"' in answer.text
        assert checked_choice(answer.text) == ["de"]  # the choice still in force
        assert saved_language(app, "paul@example.com") == "de"
    # Without the form's CSRF token nothing is saved either.
    assert client.post("/account/language", data={"language": "en"}).status_code == 400
    assert saved_language(app, "paul@example.com") == "de"


def test_the_choice_survives_logging_out_and_in(app):
    add_user(app, "karl@example.com")
    client = logged_in(app, "karl@example.com", "en")
    choose(client, "de")
    submit(client, "/logout", {}, page="/account")
    # Logged out, the page is for nobody in particular: the browser's language.
    assert "Ihr Konto" not in client.get("/").text
    assert '<html lang="en">' in client.get("/").text

    again = logged_in(app, "karl@example.com", "en")
    assert "<h1>Ihr Konto</h1>" in again.get("/account").text


def test_the_sessions_list_reads_german(app):
    add_user(app, "greta@example.com")
    firefox = logged_in(app, "greta@example.com", "en", user_agent=FIREFOX_ON_WINDOWS)
    other_firefox = logged_in(app, "greta@example.com", "en", user_agent=FIREFOX_ON_WINDOWS)
    here = logged_in(app, "greta@example.com", "en")
    choose(here, "de")

    page = here.get("/account").text
    assert "Wo Sie angemeldet sind" in page
    assert "<strong>Chrome unter Linux</strong> · <em>diese Sitzung</em>" in page
    assert page.count("<strong>Firefox unter Windows</strong>") == 2
    assert 'aria-label="Firefox unter Windows abmelden, zuletzt aktiv am ' in page
    assert "zuletzt aktiv am " in page and "Angemeldet am " in page
    assert "Alle anderen Sitzungen abmelden" in page
    assert " on " not in page and "last seen" not in page and "Log out" not in page

    one = re.findall(r'action="(/account/sessions/[^/"]+/logout)"', page)[0]
    submit(here, one, {}, page="/account")
    assert "Diese Sitzung ist abgemeldet." in here.get("/account").text
    submit(here, "/account/sessions/logout-others", {}, page="/account")
    assert "1 andere Sitzung abgemeldet." in here.get("/account").text
    # Another browser of the user, logged out now, meets the log-in page in its own language.
    for ended in (firefox, other_firefox):
        answer = ended.get("/account", follow_redirects=True)
        assert "Log in to see that page." in answer.text


def test_dates_are_written_the_way_the_language_writes_them_in_utc(app):
    add_user(app, "ida@example.com")
    client = logged_in(app, "ida@example.com", "en")
    english = client.get("/account").text
    member_since = re.search(r"Member since</dt><dd><time [^>]+>([^<]+)</time>", english)[1]
    assert any(month in member_since for month in ENGLISH_MONTHS)
    assert member_since.endswith(" UTC") and re.search(r"\d:\d\d:\d\d\W*[AP]M", member_since)

    choose(client, "de")
    german = client.get("/account").text
    member_since = re.search(r"Mitglied seit</dt><dd><time [^>]+>([^<]+)</time>", german)[1]
    assert any(month in member_since for month in GERMAN_MONTHS)
    assert member_since.endswith(" UTC") and "AM" not in member_since and "PM" not in member_since
    assert re.search(r"zuletzt aktiv am \d{1,2}\. \w+ \d{4}\W+[\d:]+ UTC", german)


def test_the_password_page_reads_german(app):
    add_user(app, "otto@example.com")
    client = logged_in(app, "otto@example.com", "de")
    page = client.get("/account/password").text
    assert "<h1>Ihr Passwort ändern</h1>" in page and "Aktuelles Passwort" in page
    wrong = submit(
        client,
        "/account/password",
        {"current_password": "not it", "password": "a new passphrase", "password_confirm": "x"},
    )
    assert "Das ist nicht Ihr aktuelles Passwort." in wrong.text


def test_the_change_of_address_pages_read_german(app):
    add_user(app, "anna@example.com")
    client = logged_in(app, "anna@example.com", "en")
    choose(client, "de")

    form = client.get("/account/email").text
    assert "<h1>Ihre E-Mail-Adresse ändern</h1>" in form and "Link senden" in form
    ask = {"email": "anna@example.com", "current_password": PASSWORD}
    assert "Das ist bereits Ihre Adresse." in submit(client, "/account/email", ask).text
    ask = {"email": "anna@new.example.com", "current_password": "not it"}
    assert "Das ist nicht Ihr aktuelles Passwort." in submit(client, "/account/email", ask).text

    ask["current_password"] = PASSWORD
    sent = submit(client, "/account/email", ask)
    assert "<h1>Prüfen Sie das neue Postfach</h1>" in sent.text
    code = {"csrf_token": csrf_token(sent.text), "code": "AAAA-BBBB"}
    wrong = client.post("/account/email/code", data=code)
    assert "Dieser Code stimmt nicht." in wrong.text

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "anna@example.com"))
        confirm = f"/account/email/confirm/{tokens.change_token_for(user, 'anna@new.example.com')}"
    page = client.get(confirm).text
    assert "Ihr Mailroom-Konto auf <strong>anna@new.example.com</strong> umstellen?" in page
    assert "Diese Adresse verwenden" in page
    moved = submit(client, confirm, {})
    assert moved.location == "/account"
    assert "Ihre Adresse ist jetzt anna@new.example.com." in client.get("/account").text
    assert "Dieser Link funktioniert nicht mehr" in client.get(confirm).text

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "anna@new.example.com"))
        undo = f"/account/email/undo/{tokens.undo_token_for(user, 'anna@example.com')}"
    page = client.get(undo).text
    assert "<h1>Konto zurückholen</h1>" in page and "<strong>anna@example.com</strong>" in page


def test_change_of_address_links_opened_logged_out_follow_the_browser(app):
    add_user(app, "bruno@example.com")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "bruno@example.com"))
        confirm = f"/account/email/confirm/{tokens.change_token_for(user, 'b@new.example.com')}"
    german, english = browser(app, "de"), browser(app, "en")
    assert "<h1>Bestätigen Sie Ihre neue Adresse</h1>" in german.get(confirm).text
    assert "Confirm your new address" in english.get(confirm).text
    invalid = german.get("/account/email/undo/not-a-token")
    assert invalid.status_code == 400
    assert "Links zum Rückgängigmachen gelten 7 Tage" in invalid.text
    assert '<a href="/reset-password">setzen Sie Ihr Passwort zurück</a>.' in invalid.text


def test_a_german_browser_is_asked_to_log_in_in_german(app):
    answer = browser(app, "de").get("/account", follow_redirects=True)
    assert "Melden Sie sich an, um diese Seite zu sehen." in answer.text


def test_a_browser_is_described_with_german_words_around_its_names(app):
    with app.test_request_context(), i18n.speaking("de"):
        assert describe(CHROME_ON_LINUX) == "Chrome unter Linux"
        assert describe("Mozilla/5.0 (Linux; Android 14; Pixel 8)") == "Ein Browser unter Android"
        assert describe("curl/8.5.0") == "curl"
        assert describe(None) == "Unbekannter Browser"


def test_a_saved_language_mailroom_no_longer_speaks_counts_as_the_browsers(app):
    add_user(app, "old.release@example.com")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "old.release@example.com"))
        user.locale = "fr"
        db.session.commit()
    page = logged_in(app, "old.release@example.com", "de").get("/account").text
    assert "<h1>Ihr Konto</h1>" in page and checked_choice(page) == ["browser"]
