"""Sessions live on the server: log-out, a password change, a reset and idle or absolute
lifetimes end them for every copy of the cookie; the cookie names a session by a random id
that the database keeps only as a hash."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import inspect, select

from app.auth.sessions import purge_sessions
from app.auth.tokens import reset_token_for
from app.extensions import db
from app.models import User, UserSession
from tests.accounts import NEW_PASSWORD, PASSWORD, is_logged_in, make_user, submit
from tests.sessions_helpers import (
    CHROME_ON_LINUX,
    browser,
    cookie_contents,
    copy_of,
    live_rows,
    login,
    move_clock,
    session_rows,
)


def log_out(client):
    return submit(client, "/logout", {}, page="/account")


def test_a_cookie_copied_before_log_out_is_refused_after_it(app):
    make_user(app, "ada@example.com")
    client = browser(app)
    thief = copy_of(app, client)
    assert is_logged_in(thief)
    assert log_out(client).status_code == 302
    assert not is_logged_in(client)
    assert not is_logged_in(thief)
    [row] = session_rows(app)
    assert row.revoked_at is not None


def test_a_password_change_ends_other_sessions_and_keeps_this_one(app):
    make_user(app, "ada@example.com")
    here, elsewhere = browser(app), browser(app)
    copy_from_before = copy_of(app, here)
    changed = submit(
        here,
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    assert is_logged_in(here)
    assert not is_logged_in(elsewhere)
    # This session carries on under a new id: a copy of its old cookie is no session.
    assert not is_logged_in(copy_from_before)
    [kept] = live_rows(app)
    assert len(session_rows(app)) == 2
    assert cookie_contents(app, here)["_user_id"] != cookie_contents(app, copy_from_before).get(
        "_user_id"
    )
    assert (
        kept.token_hash
        == hashlib.sha256(cookie_contents(app, here)["_user_id"].encode()).hexdigest()
    )


def _reset_path(app, email="ada@example.com") -> str:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return f"/reset-password/{reset_token_for(user)}"


def _reset(client, path):
    data = {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    return submit(client, path, data)


def test_a_reset_from_another_browser_ends_every_session(app):
    make_user(app, "ada@example.com")
    laptop, phone = browser(app), browser(app)
    stranger_browser = app.test_client()
    assert _reset(stranger_browser, _reset_path(app)).status_code == 302
    assert not is_logged_in(laptop)
    assert not is_logged_in(phone)
    assert not is_logged_in(stranger_browser)  # a reset never logs anyone in
    assert live_rows(app) == []


def test_a_reset_from_a_logged_in_browser_ends_that_session_too(app):
    make_user(app, "ada@example.com")
    laptop, phone = browser(app), browser(app)
    copy_from_before = copy_of(app, laptop)
    assert _reset(laptop, _reset_path(app)).status_code == 302
    for client in (laptop, phone, copy_from_before):
        assert not is_logged_in(client)
    assert live_rows(app) == []


def test_an_idle_session_ends(app, monkeypatch):
    app.config.update(SESSION_IDLE_MINUTES=30)
    make_user(app, "ada@example.com")
    client = browser(app)
    move_clock(monkeypatch, timedelta(minutes=29))
    assert is_logged_in(client)  # activity: idle time starts again from here
    move_clock(monkeypatch, timedelta(minutes=29))
    assert is_logged_in(client)
    move_clock(monkeypatch, timedelta(minutes=31))
    assert not is_logged_in(client)


def test_a_busy_session_still_ends_at_its_absolute_lifetime(app, monkeypatch):
    app.config.update(SESSION_IDLE_MINUTES=120, SESSION_MAX_HOURS=3)
    make_user(app, "ada@example.com")
    client = browser(app)
    for _ in range(5):  # a request every 35 minutes, never idle
        move_clock(monkeypatch, timedelta(minutes=35))
        assert is_logged_in(client)
    move_clock(monkeypatch, timedelta(minutes=6))  # 3 h 1 min after the log-in
    assert not is_logged_in(client)


def test_last_seen_is_written_at_most_once_a_minute(app, monkeypatch):
    make_user(app, "ada@example.com")
    client = browser(app)
    [row] = session_rows(app)
    move_clock(monkeypatch, timedelta(seconds=50))
    assert is_logged_in(client)
    assert session_rows(app)[0].last_seen_at == row.last_seen_at
    move_clock(monkeypatch, timedelta(seconds=20))
    assert is_logged_in(client)
    assert session_rows(app)[0].last_seen_at > row.last_seen_at


def test_the_cookie_holds_a_random_id_whose_hash_alone_is_stored(app):
    user_id = make_user(app, "ada@example.com")
    client = browser(app, user_agent=CHROME_ON_LINUX)
    carried = cookie_contents(app, client)
    token = carried["_user_id"]
    # At least 128 bits: token_urlsafe gives 6 bits a character.
    assert len(token) * 6 >= 128
    assert str(user_id) not in carried.values()
    with app.app_context():
        columns = inspect(UserSession).columns.keys()
        row = db.session.scalar(select(UserSession))
        stored = [str(getattr(row, name)) for name in columns]
    assert all(token not in value for value in stored)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.public_id not in token
    assert (row.client_address, row.user_agent) == ("127.0.0.1", CHROME_ON_LINUX)


def test_each_log_in_starts_a_new_session(app):
    make_user(app, "ada@example.com")
    client = app.test_client()
    client.get("/login")
    anonymous = cookie_contents(app, client)
    login(client)
    first = cookie_contents(app, client)["_user_id"]
    assert "_user_id" not in anonymous
    log_out(client)
    login(client)
    assert cookie_contents(app, client)["_user_id"] != first
    assert [row.revoked_at is None for row in session_rows(app)] == [False, True]


def test_a_header_postgresql_refuses_does_not_break_log_in(app):
    make_user(app, "ada@example.com")
    client = browser(app, user_agent="Evil\x00Agent/1.0 " + "x" * 2000)
    assert is_logged_in(client)
    [row] = session_rows(app)
    assert "\x00" not in row.user_agent and len(row.user_agent) <= 512


def test_purge_deletes_ended_and_expired_sessions_only(app, monkeypatch):
    app.config.update(SESSION_IDLE_MINUTES=60)
    make_user(app, "ada@example.com")
    logged_out = browser(app)
    log_out(logged_out)
    browser(app)  # left idle
    move_clock(monkeypatch, timedelta(minutes=50))
    busy = browser(app)
    move_clock(monkeypatch, timedelta(minutes=20))  # the second one is now 70 min idle
    with app.app_context():
        assert purge_sessions(batch=1) == 2
    [left] = session_rows(app)
    assert is_logged_in(busy)
    assert left.revoked_at is None


def test_deleting_a_user_deletes_their_sessions(app):
    make_user(app, "ada@example.com")
    browser(app)
    with app.app_context():
        db.session.delete(db.session.scalar(select(User)))
        db.session.commit()
        assert db.session.scalar(select(UserSession)) is None
