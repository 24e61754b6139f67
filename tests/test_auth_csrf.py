"""Every account POST without a valid CSRF token is refused with 400: nothing changes,
nothing is queued."""

import pytest

from tests.accounts import (
    NEW_PASSWORD,
    PASSWORD,
    get_user,
    is_logged_in,
    make_user,
    outbox_count,
    submit,
)

NEW = {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}


def reset_path(app, email):
    from app.auth.tokens import reset_token_for
    from app.extensions import db
    from app.models import User

    with app.test_request_context():
        user = db.session.get(User, get_user(app, email).id)
        return f"/reset-password/{reset_token_for(user)}"


def confirm_path(app, email):
    from app.auth.tokens import confirm_token_for

    with app.test_request_context():
        return f"/confirm/{confirm_token_for(email)}"


def posts(app):
    """(path, form data) for every POST the account pages make."""
    return [
        ("/signup", {"email": "new@example.com"}),
        (confirm_path(app, "new@example.com"), NEW),
        ("/confirm/resend", {"email": "waiting@example.com"}),
        ("/login", {"email": "ada@example.com", "password": PASSWORD}),
        ("/logout", {}),
        ("/reset-password", {"email": "ada@example.com"}),
        (reset_path(app, "ada@example.com"), NEW),
        ("/account/password", {"current_password": PASSWORD, **NEW}),
    ]


def request_count(app) -> int:
    from sqlalchemy import func, select

    from app.auth.mail_requests import AccountMailRequest
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count(AccountMailRequest.id)))


@pytest.fixture
def signed_in(app):
    make_user(app, "ada@example.com")
    make_user(app, "waiting@example.com", confirmed=False)
    client = app.test_client()
    assert (
        submit(client, "/login", {"email": "ada@example.com", "password": PASSWORD}).status_code
        == 302
    )
    return client


def snapshot(app):
    ada = get_user(app, "ada@example.com")
    return (
        ada.password_hash,
        ada.last_login_at,
        get_user(app, "new@example.com"),
        outbox_count(app),
        request_count(app),
    )


@pytest.mark.parametrize("token", [None, "", "forged-token", "from-another-session"])
def test_posts_without_a_valid_csrf_token_change_nothing(app, signed_in, token):
    before = snapshot(app)
    if token == "from-another-session":
        from tests.conftest import csrf_token

        token = csrf_token(app.test_client().get("/login").text)
    for path, data in posts(app):
        form = dict(data) if token is None else {"csrf_token": token, **data}
        # Logged in for the account forms; a fresh anonymous client for the rest.
        anonymous = app.test_client()
        for client in (signed_in, anonymous):
            response = client.post(path, data=form)
            assert response.status_code == 400, path
    assert snapshot(app) == before
    assert is_logged_in(signed_in)
