"""Garbage in the account forms and links is a form error or a 4xx, never a 500."""

import pytest

from tests.accounts import PASSWORD, make_user, outbox, resolve_requests, submit

GARBAGE_TOKENS = [
    "x",
    "a" * 5000,
    "%00",
    "..%2F..%2Fetc",
    "eyJ1c2VyIjoiMSJ9.AAAAAA.AAAA",
    "eyJ1c2VyIjogWzFdfQ.awFYzw.lS5rZsvZ7gwzMKx236kJ3Wb_B60",
    "%F0%9F%92%A9",
    "....",
]


@pytest.mark.parametrize("token", GARBAGE_TOKENS)
def test_garbage_tokens_get_the_invalid_pages(client, token):
    assert client.get(f"/confirm/{token}").status_code in (400, 404)
    assert client.get(f"/reset-password/{token}").status_code in (400, 404)


def test_a_confirm_token_is_no_reset_token(app, client):
    from app.auth.tokens import confirm_token_for

    make_user(app, "ada@example.com")
    with app.test_request_context():
        token = confirm_token_for("ada@example.com")
    assert client.get(f"/reset-password/{token}").status_code == 400


@pytest.mark.parametrize(
    "email",
    [
        "ada@example.com\x00",
        "ada@exa mple.com",
        "@example.com",
        "ada@",
        "a" * 300 + "@example.com",
        "ada@" + "b" * 300 + ".com",
        "=?utf-8?q?ada?=@example.com",
        "ada@example.com\tBcc: x@y.z",
    ],
)
@pytest.mark.parametrize("path", ["/signup", "/confirm/resend", "/reset-password", "/login"])
def test_garbage_addresses_are_answered_calmly(app, client, path, email):
    data = {"email": email, "password": PASSWORD, "password_confirm": PASSWORD}
    response = submit(client, path, data)
    assert response.status_code == 200
    assert resolve_requests(app) == 0
    assert outbox(app) == []


def test_repeated_and_raw_byte_fields_are_answered_calmly(app, client):
    from tests.conftest import csrf_token

    token = csrf_token(client.get("/signup").text)
    response = client.post(
        "/signup",
        data=(
            f"csrf_token={token}&email=a%40example.com&email=%FF%40evil.test"
            "&password=%FF%FE%FD%FC%FB%FA%F9%F8&password_confirm=%FF%FE%FD%FC%FB%FA%F9%F8"
        ),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (200, 302)
    resolve_requests(app)
    assert all(recipient == "a@example.com" for recipient, _ in outbox(app))
