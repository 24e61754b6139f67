"""The account forms as a person meets them: the keyboard in the field to type in, every
problem reported at once (summed up above the form when there are several), the reset link
beside the password, and the user name a password manager needs."""

from __future__ import annotations

import re

from app.auth.tokens import reset_token_for
from app.extensions import db
from app.models import User
from tests.accounts import PASSWORD, choose_password, make_user, signup_token, submit
from tests.admin_helpers import log_in
from tests.admin_helpers import make_user as make_user_with_session


def _autofocused(page: str) -> list[str]:
    """The names of the fields that take the keyboard when the page opens."""
    return re.findall(r'<input[^>]*\bautofocus\b[^>]*\bname="([^"]+)"', page) + re.findall(
        r'<input[^>]*\bname="([^"]+)"[^>]*\bautofocus\b', page
    )


def _field_block(page: str, name: str) -> str:
    """The markup of the field called `name`: from its wrapper to the next field's."""
    start = page.rindex('<div class="field', 0, page.index(f'name="{name}"'))
    end = page.find('<div class="field', start + 1)
    return page[start : end if end != -1 else len(page)]


def test_log_in_opens_in_the_address_field_with_the_reset_link_under_the_password(client):
    page = client.get("/login").text
    assert _autofocused(page) == ["email"]
    password = _field_block(page, "password")
    assert 'href="/reset-password"' in password and "Forgot your password?" in password
    assert "<ul" not in page.split("<main", 1)[1]  # no bulleted list of links under the form


def test_after_choosing_a_password_the_address_is_filled_in_and_the_password_focused(app, client):
    token = signup_token(app, "ada@example.com")
    assert choose_password(client, f"/confirm/{token}").status_code == 302
    page = client.get("/login").text
    assert 'value="ada@example.com"' in page
    assert _autofocused(page) == ["password"]


def test_a_refused_log_in_keeps_the_address_and_focuses_the_password(app, client):
    make_user(app, "ada@example.com")
    page = submit(client, "/login", {"email": "ada@example.com", "password": "wrong"}).text
    assert "Invalid email or password." in page
    assert _autofocused(page) == ["password"]


def test_several_problems_are_summed_up_once_at_the_top_and_one_is_not(client):
    page = submit(client, "/login", {"email": "", "password": ""}).text
    assert page.count('class="error-summary"') == 1
    summary = page[page.index('class="error-summary"') : page.index("<form")]
    assert 'href="#email"' in summary and 'href="#password"' in summary
    assert _autofocused(page) == ["email"]

    page = submit(client, "/login", {"email": "ada@example.com", "password": ""}).text
    assert 'class="error-summary"' not in page
    assert "Enter your password." in _field_block(page, "password")


def test_the_reset_page_names_the_account_for_password_managers(app, client):
    make_user(app, "ada@example.com")
    with app.app_context():
        token = reset_token_for(db.session.query(User).filter_by(email="ada@example.com").one())
    page = client.get(f"/reset-password/{token}").text
    username = re.search(r'<input[^>]*name="username"[^>]*>', page).group(0)
    assert 'autocomplete="username"' in username and 'value="ada@example.com"' in username
    assert "hidden" in username
    assert _autofocused(page) == ["password"]


def _password_client(app):
    client = app.test_client()
    log_in(client, make_user_with_session(app, "ada@example.com"))
    return client


def test_a_wrong_current_password_and_a_short_new_one_are_reported_together(app):
    client = _password_client(app)
    form = {"current_password": "not it at all", "password": "short", "password_confirm": "short"}
    page = submit(client, "/account/password", form).text
    assert "That is not your current password." in _field_block(page, "current_password")
    assert "Use at least 8 characters." in _field_block(page, "password")
    assert 'class="error-summary"' in page
    assert _autofocused(page) == ["current_password"]


def test_the_current_password_cannot_be_the_new_one(app):
    client = _password_client(app)
    form = {"current_password": PASSWORD, "password": PASSWORD, "password_confirm": PASSWORD}
    response = submit(client, "/account/password", form)
    assert response.status_code == 200
    assert "not the one you have now" in _field_block(response.text, "password")

    new = "a brand new passphrase"
    form = {"current_password": PASSWORD, "password": new, "password_confirm": new}
    response = submit(client, "/account/password", form)
    assert response.status_code == 302 and response.location.endswith("/account")
