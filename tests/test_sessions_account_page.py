"""The account page lists the live sessions and logs out one, or all but this one; a
session of someone else's is as unknown as a made-up one."""

from __future__ import annotations

import re

from tests.accounts import is_logged_in, make_user
from tests.conftest import csrf_token
from tests.sessions_helpers import (
    CHROME_ON_LINUX,
    FIREFOX_ON_WINDOWS,
    browser,
    live_rows,
    session_rows,
)


def post_from_account_page(client, path):
    token = csrf_token(client.get("/account").text)
    return client.post(path, data={"csrf_token": token})


def log_out_paths(page: str) -> list[str]:
    return re.findall(r'action="(/account/sessions/[^/"]+/logout)"', page)


def test_the_account_page_lists_live_sessions_and_marks_this_one(app):
    make_user(app, "ada@example.com")
    firefox = browser(app, FIREFOX_ON_WINDOWS)
    chrome = browser(app, CHROME_ON_LINUX)
    ended = browser(app)
    post_from_account_page(ended, "/logout")
    page = chrome.get("/account").text
    assert "Chrome on Linux" in page and "Firefox on Windows" in page
    assert page.count("this session") == 1
    assert page.index("Chrome on Linux") < page.index("this session") < page.index("Firefox")
    assert "127.0.0.1" in page
    # One log-out button, for the other live session; none for this one or the ended one.
    [firefox_row] = [r for r in live_rows(app) if r.user_agent == FIREFOX_ON_WINDOWS]
    assert log_out_paths(page) == [f"/account/sessions/{firefox_row.public_id}/logout"]
    assert 'action="/account/sessions/logout-others"' in page
    assert is_logged_in(firefox)


def test_log_out_one_other_session_from_the_account_page(app):
    make_user(app, "ada@example.com")
    phone, laptop, tablet = browser(app), browser(app), browser(app)
    phone_row = session_rows(app)[0]
    response = post_from_account_page(laptop, f"/account/sessions/{phone_row.public_id}/logout")
    assert response.status_code == 302 and response.location == "/account"
    assert not is_logged_in(phone)
    assert is_logged_in(laptop) and is_logged_in(tablet)
    again = post_from_account_page(laptop, f"/account/sessions/{phone_row.public_id}/logout")
    assert again.status_code == 404


def test_log_out_all_other_sessions_from_the_account_page(app):
    make_user(app, "ada@example.com")
    make_user(app, "bob@example.com")
    others = [browser(app), browser(app)]
    here = browser(app)
    bob = browser(app, email="bob@example.com")
    response = post_from_account_page(here, "/account/sessions/logout-others")
    assert response.status_code == 302
    assert "Logged out 2 other sessions." in here.get("/account").text
    assert [is_logged_in(c) for c in others] == [False, False]
    assert is_logged_in(here)
    assert is_logged_in(bob)  # only Ada's sessions
    assert 'action="/account/sessions/logout-others"' not in here.get("/account").text


def test_logging_out_this_session_by_its_id_logs_out(app):
    make_user(app, "ada@example.com")
    here = browser(app)
    [row] = session_rows(app)
    response = post_from_account_page(here, f"/account/sessions/{row.public_id}/logout")
    assert response.status_code == 302 and response.location == "/"
    assert not is_logged_in(here)


def test_another_users_session_id_answers_404_and_ends_nothing(app):
    make_user(app, "ada@example.com")
    make_user(app, "bob@example.com")
    bob = browser(app, email="bob@example.com")
    ada = browser(app)
    [bobs] = session_rows(app, "bob@example.com")
    for public_id in (bobs.public_id, "no-such-session", "x" * 300):
        response = post_from_account_page(ada, f"/account/sessions/{public_id}/logout")
        assert response.status_code == 404
    assert is_logged_in(bob)
    assert is_logged_in(ada)


def test_session_log_outs_need_the_csrf_token(app):
    make_user(app, "ada@example.com")
    phone, here = browser(app), browser(app)
    phone_row = session_rows(app)[0]
    for path in (
        f"/account/sessions/{phone_row.public_id}/logout",
        "/account/sessions/logout-others",
    ):
        assert here.post(path, data={}).status_code == 400
        assert here.post(path, data={"csrf_token": "forged"}).status_code == 400
    assert is_logged_in(phone)


def test_session_pages_need_a_login(app, client):
    for path in ("/account/sessions/abc/logout", "/account/sessions/logout-others"):
        token = csrf_token(client.get("/login").text)
        response = client.post(path, data={"csrf_token": token})
        assert response.status_code == 302 and response.location.startswith("/login")
