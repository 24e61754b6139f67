"""Helpers for the session tests: log in through the form, read the server's session rows,
copy a browser's cookie into another client, and move the clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import User, UserSession
from tests.accounts import PASSWORD, submit

CHROME_ON_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)


def login(client, email="ada@example.com", password=PASSWORD, user_agent=None):
    headers = {"User-Agent": user_agent} if user_agent else {}
    response = submit(client, "/login", {"email": email, "password": password}, headers=headers)
    assert response.status_code == 302, response.text
    return response


def browser(app, user_agent=None, email="ada@example.com"):
    """A new client logged in as `email`."""
    client = app.test_client()
    login(client, email, user_agent=user_agent)
    return client


def copy_of(app, client):
    """Another client carrying a copy of `client`'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def cookie_contents(app, client) -> dict:
    """What the signed session cookie holds (signed, not encrypted: anyone can read it)."""
    value = client.get_cookie("session").value
    return app.session_interface.get_signing_serializer(app).loads(value)


def session_rows(app, email="ada@example.com") -> list[UserSession]:
    """Every session row of `email`, oldest first, detached for reading."""
    with app.app_context():
        rows = db.session.scalars(
            select(UserSession)
            .join(User, User.id == UserSession.user_id)
            .where(User.email == email)
            .order_by(UserSession.id)
        ).all()
        db.session.expunge_all()
        return rows


def live_rows(app, email="ada@example.com") -> list[UserSession]:
    return [row for row in session_rows(app, email) if row.revoked_at is None]


def move_clock(monkeypatch, by: timedelta) -> None:
    """Move app.clock forward by `by` from where it is now (repeatable)."""
    now = clock.utcnow() + by
    monkeypatch.setattr(clock, "utcnow", lambda: now)
