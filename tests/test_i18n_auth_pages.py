"""The public and sign-in pages speak German to a German browser, and to a user who chose
German whatever the browser says: headings, labels, buttons, form errors, flashes, the
header's menu, the error pages and the 429 page with its real wait.

One app (SQLite, rate limits on) serves the whole module; each test is its own client
address, so the limits one test runs into never touch another.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app import create_app
from app.auth import tokens
from app.extensions import db
from app.mail.sender import stop_senders
from app.models import User
from tests.accounts import PASSWORD, make_user, submit
from tests.admin_helpers import log_in
from tests.admin_helpers import make_user as make_session_user
from tests.conftest import base_config

GERMAN = {"Accept-Language": "de"}
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    database = tmp_path_factory.mktemp("i18n-auth") / "mailroom.db"
    app = create_app(base_config(f"sqlite:///{database}", RATELIMIT_ENABLED=True))
    with app.app_context():
        db.create_all()
    yield app
    stop_senders(app, timeout=10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _client(app, address: str):
    """A browser at its own client address (the rate limits count per client)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _user_speaking(app, email: str, locale: str | None) -> str:
    """A confirmed user whose saved language is `locale`; returns a session to log in with."""
    session_id = make_session_user(app, email)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        user.locale = locale
        db.session.commit()
    return session_id


def _assert_german(page: str, *words: str) -> None:
    assert '<html lang="de">' in page
    for word in words:
        assert word in page, word


def test_every_public_page_reads_german_to_a_german_browser(app):
    make_user(app, "reset@example.com")
    with app.app_context():
        confirm = tokens.confirm_token_for("new@example.com")
        reset = tokens.reset_token_for(
            db.session.scalar(select(User).filter_by(email="reset@example.com"))
        )
    pages = {
        "/": ("<title>Konto-E-Mails, die ankommen · Mailroom</title>", "Registrieren</a> Sie sich"),
        "/signup": ("Legen Sie Ihr Konto an", "E-Mail-Adresse", "Link senden"),
        "/login": ("Passwort vergessen?", "Neu hier?", '<a href="/login" aria-current="page">'),
        "/reset-password": ("Passwort zurücksetzen", "Link zum Zurücksetzen senden"),
        "/confirm/resend": ("Neuen Registrierungslink senden", "mit der Sie sich registriert"),
        f"/confirm/{confirm}": ("Wählen Sie Ihr Passwort", "Passwort wiederholen"),
        "/confirm/not-a-token": ("Dieser Registrierungslink gilt nicht mehr", "48 Stunden"),
        f"/reset-password/{reset}": ("Neues Passwort wählen", "Neues Passwort wiederholen"),
        "/reset-password/not-a-token": ("Dieser Link zum Zurücksetzen ist ungültig",),
        "/check-your-inbox/reset": ("Prüfen Sie Ihr Postfach", "Der Link gilt 1 Stunde."),
        "/no-such-page": ("Fehler 404", "Seite nicht gefunden", "Zurück zur Startseite"),
    }
    client = _client(app, "10.0.1.1")
    for path, words in pages.items():
        page = client.get(path, headers=GERMAN).text
        _assert_german(page, "Menü", ">Anmelden</a>", ">Registrieren</a>", *words)
        assert "Log in" not in page and "Sign up" not in page, path


def test_form_errors_and_flashes_read_german(app):
    client = _client(app, "10.0.2.1")
    signup = submit(client, "/signup", {"email": "not an address"}, headers=GERMAN)
    _assert_german(signup.text, "Geben Sie eine einzige E-Mail-Adresse ohne Namen ein")

    with app.app_context():
        confirm = f"/confirm/{tokens.confirm_token_for('neu@example.com')}"
    mismatch = {"password": "short", "password_confirm": "other"}
    chosen = submit(client, confirm, mismatch, headers=GERMAN).text
    _assert_german(
        chosen,
        "Bitte beheben Sie diese Probleme",
        "Verwenden Sie mindestens 8 Zeichen.",
        "Die Passwörter stimmen nicht überein.",
    )

    done = submit(
        client, confirm, {"password": PASSWORD, "password_confirm": PASSWORD}, headers=GERMAN
    )
    assert done.status_code == 302
    login_page = client.get(done.location, headers=GERMAN).text
    _assert_german(login_page, "Ihr Konto ist bereit. Melden Sie sich mit Ihrem neuen Passwort an.")

    wrong = {"email": "neu@example.com", "password": "not the password"}
    refused = submit(client, "/login", wrong, headers=GERMAN).text
    _assert_german(refused, "E-Mail-Adresse oder Passwort ist falsch.")


def test_mail_forms_answer_german_the_same_for_known_and_unknown_addresses(app):
    make_user(app, "known@example.com")
    client = _client(app, "10.0.3.1")
    for path in ("/signup", "/confirm/resend", "/reset-password"):
        known = submit(client, path, {"email": "known@example.com"}, headers=GERMAN)
        unknown = submit(client, path, {"email": "unknown@example.com"}, headers=GERMAN)
        assert (known.status_code, known.location) == (unknown.status_code, unknown.location)
        inbox = client.get(known.location, headers=GERMAN).text
        _assert_german(inbox, "Falls diese Adresse E-Mails empfangen kann")


def test_rate_limit_page_reads_german_with_the_real_wait(app):
    client = _client(app, "10.0.4.1")
    tries = {"email": "a@example.com", "password": "x"}
    answers = [submit(client, "/login", tries, headers=GERMAN) for _ in range(12)]
    limited = [r for r in answers if r.status_code == 429]
    assert limited
    page = limited[0].text
    _assert_german(page, "Fehler 429", "Zu viele Versuche")
    wait = re.search(
        r"Warten Sie (\d+) (Sekunden?|Minute) und versuchen Sie es dann erneut\.", page
    )
    assert wait, page
    seconds = int(limited[0].headers["Retry-After"])
    said = int(wait.group(1)) * (60 if wait.group(2) == "Minute" else 1)
    assert said >= seconds > said - 60


def test_the_browsers_preferred_language_that_mailroom_speaks_wins(app):
    client = _client(app, "10.0.5.1")
    french_first = client.get("/", headers={"Accept-Language": "fr;q=1, de;q=0.5"}).text
    _assert_german(french_first, "Konto-E-Mails, die ankommen")
    french_only = client.get("/", headers={"Accept-Language": "fr"}).text
    assert '<html lang="en">' in french_only and "Account email that arrives" in french_only


def test_a_users_saved_language_wins_over_the_browsers(app):
    german_user = _client(app, "10.0.6.1")
    log_in(german_user, _user_speaking(app, "de@example.com", "de"))
    home = german_user.get("/", headers=ENGLISH).text
    _assert_german(home, "Willkommen zurück", ">Abmelden</button>", "Sie sind als <strong>")

    english_user = _client(app, "10.0.6.2")
    log_in(english_user, _user_speaking(app, "en@example.com", "en"))
    home = english_user.get("/", headers=GERMAN).text
    assert '<html lang="en">' in home and "Welcome back" in home and ">Log out</button>" in home


def test_logging_in_greets_in_the_users_own_language(app):
    make_user(app, "greet@example.com")
    with app.app_context():
        db.session.scalar(select(User).filter_by(email="greet@example.com")).locale = "de"
        db.session.commit()
    client = _client(app, "10.0.7.1")
    credentials = {"email": "greet@example.com", "password": PASSWORD}
    answer = submit(client, "/login", credentials, headers=ENGLISH)
    assert answer.status_code == 302
    _assert_german(client.get("/", headers=ENGLISH).text, "Sie sind angemeldet.")
