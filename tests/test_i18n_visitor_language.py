"""A visitor chooses the language at the foot of any page: a POST with a CSRF token, kept in a
cookie, back to the page it came from, and mail the visitor asks for speaks it too. A
signed-in user's choice goes on the account; nothing else ever changes a page's language."""

from __future__ import annotations

import re

from sqlalchemy import select

from app import i18n
from app.extensions import db
from app.mail.models import OutboxMessage
from tests.accounts import get_user, make_user, resolve_requests, signup, submit
from tests.admin_helpers import log_in
from tests.admin_helpers import make_user as make_signed_in_user
from tests.conftest import csrf_token

ENGLISH_BROWSER = {"Accept-Language": "en-GB,en;q=0.9"}
# The subjects of the sign-up and reset mails, as translations/de/LC_MESSAGES/messages.po has them.
GERMAN_SUBJECTS = ["Registrierung bei Mailroom abschließen", "Ihr Mailroom-Passwort zurücksetzen"]


def page_language(client, path: str = "/") -> str:
    html = client.get(path, headers=ENGLISH_BROWSER).get_data(as_text=True)
    return re.search(r'<html lang="([a-z]+)"', html).group(1)


def switch(client, language: str, back_to: str = "http://localhost/login"):
    """Press a language's button on the page `back_to` (the Referer a browser sends)."""
    return submit(
        client,
        "/language",
        {"language": language},
        page="/login",
        headers={**ENGLISH_BROWSER, "Referer": back_to},
    )


def set_cookie_header(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(i18n.COOKIE)]
    return cookie


def test_the_foot_of_a_visitors_page_offers_the_other_language_in_its_own_words(client):
    english = client.get("/login", headers=ENGLISH_BROWSER).get_data(as_text=True)
    assert '<button type="submit" name="language" value="de" lang="de"' in english
    assert ">Deutsch</button>" in english and ">English</button>" not in english
    german = client.get("/login", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert ">English</button>" in german and ">Deutsch</button>" not in german


def test_a_visitor_switches_to_german_and_back_to_the_page_they_were_on(client):
    assert page_language(client) == "en"
    answer = switch(client, "de", back_to="http://localhost/reset-password?x=1")
    assert answer.status_code == 302
    assert answer.location == "/reset-password?x=1"
    cookie = set_cookie_header(answer)
    assert "mailroom_language=de" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie
    assert "Secure" not in cookie  # off production
    # The browser still asks for English; the visitor's choice wins, on every page.
    assert page_language(client) == "de"
    assert page_language(client, "/signup") == "de"
    switch(client, "en")
    assert page_language(client) == "en"


def test_the_switch_refuses_a_post_without_a_token_another_language_or_a_get(client):
    assert client.post("/language", data={"language": "de", "next": "/"}).status_code == 400
    assert switch(client, "fr").status_code == 400
    assert switch(client, "").status_code == 400
    assert client.get("/language?language=de").status_code == 405  # a GET never changes it
    assert page_language(client) == "en"
    assert client.get_cookie(i18n.COOKIE) is None


def test_the_switch_only_ever_goes_back_to_a_page_of_this_site(client):
    # Only the Referer's path is used, and only if it is a path of this site.
    for referer in (
        "",
        "javascript:alert(1)",
        "http://localhost//evil.test/",
        "http://localhost/\\evil.test",
    ):
        answer = switch(client, "de", back_to=referer)
        assert answer.status_code == 302
        assert answer.location == "/", referer
    assert switch(client, "de", back_to="https://evil.test/signup").location == "/signup"


def test_a_page_does_not_carry_its_own_address_in_the_switch(client):
    """Dead or live, a link's token must not be written into the page's markup: every dead
    reset link gets the same page (tests/test_auth_reset.py)."""
    html = client.get("/reset-password/some-token-value").get_data(as_text=True)
    assert "some-token-value" not in html


def test_production_keeps_the_choice_in_a_secure_cookie(make_app):
    key = "9f2c4e7a1b8d3f6e0a5c2b9d4e7f1a3c"
    app = make_app(APP_ENV="production", SECRET_KEY=key, MAIL_SENDER_THREADS=0)
    client = app.test_client()
    base = "https://mailroom.example"
    page = client.get("/login", base_url=base)
    answer = client.post(
        "/language",
        base_url=base,
        data={"csrf_token": csrf_token(page.text), "language": "de", "next": "/"},
        headers={"Referer": f"{base}/login"},
    )
    assert answer.status_code == 302
    assert "Secure" in set_cookie_header(answer)


def test_a_signed_in_user_who_switches_saves_it_on_the_account(app):
    client = app.test_client()
    log_in(client, make_signed_in_user(app, "ada@example.com"))
    page = client.get("/account", headers=ENGLISH_BROWSER)
    answer = client.post(
        "/language",
        data={"csrf_token": csrf_token(page.text), "language": "de", "next": "/account"},
    )
    assert answer.status_code == 302
    assert get_user(app, "ada@example.com").locale == "de"


def test_the_mail_a_visitor_asks_for_speaks_the_language_they_chose(app, client):
    make_user(app, "ada@example.com")
    switch(client, "de")
    signup(client, "new@example.com", headers=ENGLISH_BROWSER)
    submit(client, "/reset-password", {"email": "ada@example.com"}, headers=ENGLISH_BROWSER)
    assert resolve_requests(app) == 2
    with app.app_context():
        subjects = db.session.scalars(select(OutboxMessage.subject)).all()
    # Both written in German, though the browser asked for English.
    assert sorted(subjects) == sorted(GERMAN_SUBJECTS)
