"""The account page and changing the password: this session stays, the others end."""

from tests.accounts import (
    NEW_PASSWORD,
    PASSWORD,
    get_user,
    is_logged_in,
    make_user,
    outbox,
    submit,
    text_part,
    wait_for_mail,
)
from tests.sessions_helpers import live_rows


def login(client, email="ada@example.com", password=PASSWORD):
    return submit(client, "/login", {"email": email, "password": password})


def change(client, current, new=NEW_PASSWORD, again=None):
    data = {"current_password": current, "password": new, "password_confirm": again or new}
    return submit(client, "/account/password", data)


def test_account_page_shows_the_address(app, client):
    make_user(app, "ada@example.com")
    login(client)
    page = client.get("/account")
    assert page.status_code == 200
    assert "ada@example.com" in page.text
    assert 'href="/account/password"' in page.text


def test_change_password_from_the_account_page(app, client, smtp, senders):
    make_user(app, "ada@example.com")
    senders(app)
    elsewhere = app.test_client()
    login(client)
    login(elsewhere)
    response = change(client, PASSWORD)
    assert response.status_code == 302
    assert response.location == "/account"
    assert is_logged_in(client)
    assert not is_logged_in(elsewhere)

    notice = wait_for_mail(smtp, "ada@example.com", "password was changed")
    assert "https://mailroom.example/reset-password" in text_part(notice)
    fresh = app.test_client()
    assert login(fresh, password=PASSWORD).status_code == 200
    assert login(fresh, password=NEW_PASSWORD).status_code == 302


def test_wrong_current_password_changes_nothing(app, client):
    make_user(app, "ada@example.com")
    login(client)
    before = get_user(app, "ada@example.com")
    response = change(client, "not my password")
    assert response.status_code == 200
    assert "not your current password" in response.text
    after = get_user(app, "ada@example.com")
    assert after.password_hash == before.password_hash
    assert len(live_rows(app)) == 1
    assert outbox(app) == []


def test_new_password_follows_the_policy(app, client):
    make_user(app, "ada@example.com")
    login(client)
    assert "at least 8" in change(client, PASSWORD, "short").text
    assert "differ" in change(client, PASSWORD, NEW_PASSWORD, "other thing").text
    assert "at most" in change(client, PASSWORD, "y" * 5000).text
    assert outbox(app) == []


def test_a_session_from_before_the_change_cannot_come_back(app, client):
    make_user(app, "ada@example.com")
    login(client)
    stale_cookie = client.get_cookie("session").value
    change(client, PASSWORD)
    replay = app.test_client()
    replay.set_cookie("session", stale_cookie)
    assert not is_logged_in(replay)
