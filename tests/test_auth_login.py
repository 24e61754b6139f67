"""Log-in and log-out: one answer for every failure, fresh sessions, local `next=` only."""

import pytest

from tests.accounts import PASSWORD, get_user, is_logged_in, make_user, scrub, submit


def login(client, email, password=PASSWORD, path="/login"):
    return submit(client, path, {"email": email, "password": password})


def test_unknown_address_and_wrong_password_get_the_same_answer(app, client):
    make_user(app, "ada@example.com")
    wrong = login(client, "ada@example.com", "not the password")
    unknown = login(client, "ghost@example.com", "not the password")
    malformed = login(client, "ghost@@example", "not the password")
    assert wrong.status_code == unknown.status_code == malformed.status_code == 200
    assert "Invalid email or password." in wrong.text

    def without_email(response, typed):
        return scrub(response.text).replace(typed, "")

    assert without_email(wrong, "ada@example.com") == without_email(unknown, "ghost@example.com")
    assert without_email(malformed, "ghost@@example") == without_email(unknown, "ghost@example.com")
    assert not is_logged_in(client)


def test_login_records_the_time_and_renews_the_session(app, client):
    make_user(app, "ada@example.com")
    client.get("/login")
    before = client.get_cookie("session").value
    response = login(client, "ADA@example.com ")
    assert response.status_code == 302
    assert response.location == "/"
    assert client.get_cookie("session").value != before
    assert get_user(app, "ada@example.com").last_login_at is not None


def test_an_unconfirmed_account_answers_like_an_unknown_address(app, client):
    """Its password may be a squatter's: the right one must not reveal that the account
    exists (it used to open a "confirm your address" page)."""
    make_user(app, "new@example.com", confirmed=False)
    unconfirmed = login(client, "new@example.com")
    unknown = login(client, "nobody@example.com")
    assert unconfirmed.status_code == unknown.status_code == 200
    assert scrub(unconfirmed.text).replace("new@", "X@") == scrub(unknown.text).replace(
        "nobody@", "X@"
    )
    assert not is_logged_in(client)


def test_logout_is_a_post(app, client):
    make_user(app, "ada@example.com")
    login(client, "ada@example.com")
    assert client.get("/logout").status_code == 405
    assert is_logged_in(client)
    submit(client, "/logout", {}, page="/account")
    assert not is_logged_in(client)


def test_account_pages_need_a_login(client):
    for path in ("/account", "/account/password"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.location.startswith("/login?next=")


@pytest.mark.parametrize("target", ["/account", "/account/password?x=1"])
def test_next_goes_to_a_local_path(app, client, target):
    make_user(app, "ada@example.com")
    response = login(client, "ada@example.com", path=f"/login?next={target}")
    assert response.location == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.test",
        "///evil.test",
        "////evil.test/x",
        "https://evil.test",
        "https:evil.test",
        "http:/evil.test",
        "/\\evil.test",
        "\\\\evil.test",
        "\\/evil.test",
        "javascript:alert(1)",
        "/%09/evil.test".replace("%09", "\t"),
        "evil.test",
        "",
    ],
)
def test_next_never_leaves_the_site(app, client, target):
    from urllib.parse import quote

    make_user(app, "ada@example.com")
    response = login(client, "ada@example.com", path=f"/login?next={quote(target)}")
    assert response.status_code == 302
    assert response.location == "/"


def test_login_page_redirects_a_logged_in_user(app, client):
    make_user(app, "ada@example.com")
    login(client, "ada@example.com")
    assert client.get("/login?next=//evil.test").location == "/"
