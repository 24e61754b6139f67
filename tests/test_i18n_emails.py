"""Emails speak their recipient's language: the saved choice, else the language of the page
that asked (remembered on the request until a sender writes the mail), else English; with
lifetimes and dates written the way that language writes them. Through the test client and
the suite's real SMTP server, and every template rendered in German with its preview data."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app import clock, create_app, i18n
from app.auth import emails
from app.extensions import db
from app.mail.previews import SAMPLE_CODE, SAMPLES, render_preview
from app.models import User
from tests.accounts import (
    html_part,
    signup,
    submit,
    text_part,
    wait_for_mail,
)
from tests.admin_helpers import admin_client
from tests.conftest import base_config

GERMAN = {"Accept-Language": "de"}
ENGLISH = {"Accept-Language": "en"}
# Written out, not asked of Babel: the test says what a German reader expects to see.
# fmt: off
GERMAN_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
                 "September", "Oktober", "November", "Dezember")
ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")
# fmt: on


def make_reader(app, email: str, language: str | None) -> None:
    """A confirmed account with `language` saved (None: never chose one). Nobody logs in as
    it, so its password hash is a placeholder: hashing a real one costs a scrypt."""
    with app.app_context():
        user = User(email=email, password_hash="scrypt:placeholder", locale=language)
        user.confirmed_at = clock.utcnow()
        db.session.add(user)
        db.session.commit()


def request_reset(app, email: str, headers: dict) -> None:
    submit(app.test_client(), "/reset-password", {"email": email}, headers=headers)


def assert_german(mail) -> None:
    text, html = text_part(mail), html_part(mail)
    assert "Hallo," in text and "Hallo," in html
    assert "Hi there" not in text + html
    assert '<html lang="de">' in html


def assert_english(mail) -> None:
    text, html = text_part(mail), html_part(mail)
    assert "Hi there," in text and "Hi there," in html
    assert "Hallo" not in text + html
    assert '<html lang="en">' in html


def test_signup_from_a_german_page_gets_the_german_confirmation(app, smtp, senders):
    senders(app)
    signup(app.test_client(), "ada@example.com", headers=GERMAN)

    mail = wait_for_mail(smtp, "ada@example.com")
    subject = str(mail.message["Subject"])
    assert subject == "Registrierung bei Mailroom abschließen"
    assert_german(mail)
    for part in (text_part(mail), html_part(mail)):
        assert "Der Link ist 2 Tage lang gültig." in part
        assert "https://mailroom.example/confirm/" in part


def test_reset_mail_speaks_the_saved_choice_else_the_asking_page(app, smtp, senders):
    for email, saved in (
        ("de@example.com", "de"),
        ("en@example.com", "en"),
        ("unsaid@example.com", None),
    ):
        make_reader(app, email, saved)
    senders(app)
    # The saved choice wins over the browser that asks, both ways round ...
    request_reset(app, "de@example.com", ENGLISH)
    request_reset(app, "en@example.com", GERMAN)
    # ... and without one, the mail speaks the language of the page that asked.
    request_reset(app, "unsaid@example.com", GERMAN)

    german = wait_for_mail(smtp, "de@example.com")
    assert str(german.message["Subject"]) == "Ihr Mailroom-Passwort zurücksetzen"
    assert_german(german)
    assert "1 Stunde" in text_part(german) and "1 Stunde" in html_part(german)

    english = wait_for_mail(smtp, "en@example.com")
    assert str(english.message["Subject"]) == "Reset your Mailroom password"
    assert_english(english)
    assert "1 hour" in text_part(english) and "1 hour" in html_part(english)

    unsaid = wait_for_mail(smtp, "unsaid@example.com")
    assert str(unsaid.message["Subject"]) == "Ihr Mailroom-Passwort zurücksetzen"
    assert_german(unsaid)


def tell_of_password_change(app, email: str, headers: dict) -> None:
    """What the account page does once a password is changed, from a browser that says
    `headers`: the notice is queued in that request."""
    with app.test_request_context(headers=headers):
        emails.send_password_changed_email(db.session.scalar(select(User).filter_by(email=email)))
        db.session.commit()


def test_password_changed_notice_dates_in_the_readers_language(app, smtp, senders):
    make_reader(app, "de@example.com", "de")
    make_reader(app, "en@example.com", "en")
    senders(app)
    before = clock.utcnow()
    tell_of_password_change(app, "de@example.com", ENGLISH)
    tell_of_password_change(app, "en@example.com", GERMAN)
    after = clock.utcnow()

    german = wait_for_mail(smtp, "de@example.com")
    assert str(german.message["Subject"]) == "Ihr Mailroom-Passwort wurde geändert"
    assert_german(german)
    # Said as German writes a date ("28. November 2026"), whichever side of midnight.
    days = {f"am {t.day}. {GERMAN_MONTHS[t.month - 1]} {t.year}" for t in (before, after)}
    for part in (text_part(german), html_part(german)):
        assert any(day in part for day in days), part
        assert "UTC" in part

    english = wait_for_mail(smtp, "en@example.com")
    assert str(english.message["Subject"]) == "Your Mailroom password was changed"
    assert_english(english)
    days = {f"on {ENGLISH_MONTHS[t.month - 1]} {t.day}, {t.year}" for t in (before, after)}
    for part in (text_part(english), html_part(english)):
        assert any(day in part for day in days), part


def test_previews_speak_the_admins_page_language(app):
    client = admin_client(app)
    german = client.get("/admin/mail/previews/reset_password", headers=GERMAN)
    assert "Jemand (hoffentlich Sie) möchte das Passwort" in german.text
    english = client.get("/admin/mail/previews/reset_password", headers=ENGLISH)
    assert "Someone (we hope you) asked to reset the password" in english.text


# -- every template, rendered with its preview data: no English sentence left in German --

# What stays the same in every language: links, addresses, the emailed code, the name.
_UNTRANSLATABLE = re.compile(
    r"https?://\S+|[\w.*+-]+@[\w.-]+|" + re.escape(SAMPLE_CODE) + r"|\bMailroom\b"
)


@pytest.fixture(scope="module")
def renderings():
    """Each template's subject and parts in English and in German (no database needed)."""
    app = create_app(base_config("sqlite://", MAIL_SENDER_THREADS=0))
    with app.app_context():
        return {
            language: {name: _render(name, language) for name in SAMPLES}
            for language in ("en", "de")
        }


def _render(name: str, language: str) -> dict[str, list[str]]:
    with i18n.speaking(language):
        mail = render_preview(name).mail
    return {"subject": [mail.subject], "text": _lines(mail.text), "html": _lines(_words(mail.html))}


def _words(html: str) -> str:
    """The text a reader sees in an HTML part: no head, no tags, entities as characters."""
    from html import unescape

    body = re.split(r"<body[^>]*>", html, maxsplit=1)[1]
    return unescape(re.sub(r"<[^>]+>", " ", body))


def _lines(text: str) -> list[str]:
    """The lines that say something in words once links, addresses and codes are gone."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return [line for line in lines if re.search(r"[^\W\d_]{2,}", _UNTRANSLATABLE.sub("", line))]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_email_reads_german_with_no_english_sentence_left(renderings, name):
    english, german = renderings["en"][name], renderings["de"][name]
    assert "Mailroom" in german["subject"][0]
    for part in ("subject", "text", "html"):
        assert german[part], (name, part)
        left = set(english[part]) & set(german[part])
        assert not left, f"{name} {part}: English left in German: {sorted(left)}"
