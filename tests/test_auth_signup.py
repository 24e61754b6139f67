"""Sign-up and confirmation, through the test client and a real SMTP server."""

import pytest

from app.auth.passwords import MAX_LENGTH
from tests.accounts import (
    PASSWORD,
    get_user,
    html_part,
    is_logged_in,
    link_in,
    make_user,
    outbox,
    path_of,
    scrub,
    submit,
    text_part,
    wait_for_mail,
)


def signup(client, email, password=PASSWORD, confirm=None, **kwargs):
    data = {"email": email, "password": password, "password_confirm": confirm or password}
    return submit(client, "/signup", data, **kwargs)


def test_signup_confirm_login_logout(app, client, smtp, senders):
    senders(app)
    response = signup(client, "Ada@Example.COM")
    assert response.status_code == 302
    assert client.get(response.location).status_code == 200

    mail = wait_for_mail(smtp, "ada@example.com", "Confirm")
    assert mail.rcpt_tos == ["ada@example.com"]
    assert "48 hours" in text_part(mail) and "48 hours" in html_part(mail)
    assert "not you" in text_part(mail)
    link = link_in(mail, "/confirm/")
    assert link.startswith("https://mailroom.example/confirm/")
    assert link in html_part(mail)

    confirmed = client.get(path_of(link))
    assert confirmed.status_code == 302
    assert get_user(app, "ada@example.com").confirmed_at is not None

    login = submit(client, "/login", {"email": "ada@example.com", "password": PASSWORD})
    assert login.status_code == 302
    assert is_logged_in(client)
    logout = submit(client, "/logout", {}, page="/account")
    assert logout.status_code == 302
    assert not is_logged_in(client)


def test_confirming_twice_is_harmless(app, client, smtp, senders):
    senders(app)
    signup(client, "ada@example.com")
    link = link_in(wait_for_mail(smtp, "ada@example.com"), "/confirm/")
    first = client.get(path_of(link))
    confirmed_at = get_user(app, "ada@example.com").confirmed_at
    second = client.get(path_of(link))
    assert first.status_code == second.status_code == 302
    assert get_user(app, "ada@example.com").confirmed_at == confirmed_at


def test_signup_answers_the_same_for_a_taken_address(app, client, smtp, senders):
    make_user(app, "taken@example.com")
    senders(app)
    known = signup(client, "taken@example.com", password="another password 1")
    unknown = signup(client, "fresh@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known.location == unknown.location
    known_page, unknown_page = client.get(known.location), client.get(unknown.location)
    assert scrub(known_page.text) == scrub(unknown_page.text)

    notice = wait_for_mail(smtp, "taken@example.com", "tried to sign up")
    assert "/reset-password" in text_part(notice)
    assert "not you" in text_part(notice)
    assert get_user(app, "taken@example.com").confirmed_at is not None


def test_already_registered_notice_goes_at_most_once_a_day(app, client, monkeypatch):
    from datetime import timedelta

    from app import clock

    make_user(app, "taken@example.com")
    for _ in range(3):
        signup(client, "taken@example.com")
    assert outbox(app) == [("taken@example.com", "already_registered")]
    later = clock.utcnow() + timedelta(days=1, minutes=1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    signup(client, "taken@example.com")
    assert outbox(app).count(("taken@example.com", "already_registered")) == 2


@pytest.mark.parametrize(
    "bad",
    [
        "ada@example.com\r\nBcc: victim@example.org",
        "ada@example.com\nBcc: victim@example.org",
        "ada@example.com, eve@evil.test",
        "ada@example.com;eve@evil.test",
        "Ada Lovelace <ada@example.com>",
        "<script>alert(1)</script>@example.com",
        "not-an-address",
        "ada@example.com%0d%0aBcc:eve@evil.test",
        "",
    ],
)
def test_bad_addresses_are_form_errors_and_queue_nothing(app, client, bad):
    response = signup(client, bad)
    assert response.status_code == 200
    assert 'class="field-error"' in response.text
    assert "<script>" not in response.text
    assert outbox(app) == []
    assert get_user(app, "ada@example.com") is None


def test_markup_in_an_address_is_escaped_in_the_html_part(app, client, smtp, senders):
    senders(app)
    address = "o'brien&{x}@example.com"
    assert signup(client, address).status_code == 302
    mail = wait_for_mail(smtp, address)
    html = html_part(mail)
    # The inliner re-serialises the HTML: a quote in text needs no entity, an ampersand does.
    assert "brien&amp;{x}@example.com" in html
    assert "&{x}" not in html
    assert "o'brien&{x}@example.com" in text_part(mail)


def test_markup_in_template_values_is_escaped(app):
    from app.extensions import db
    from app.mail import send_email

    with app.app_context():
        row = send_email(
            "ada@example.com",
            "confirm_email",
            user_email='<img src=x onerror="alert(1)">',
            confirm_url="https://mailroom.example/confirm/x",
            expires_in="48 hours",
        )
        db.session.commit()
        assert b"<img src=x" not in row.mime
        assert b"&lt;img src=3Dx" in row.mime or b"&lt;img src=x" in row.mime


def test_addresses_are_stored_in_one_canonical_form(app, client):
    signup(client, "  Ada@BÜCHER.example ")
    user = get_user(app, "ada@xn--bcher-kva.example")
    assert user is not None
    assert outbox(app) == [("ada@xn--bcher-kva.example", "confirm_email")]


@pytest.mark.parametrize(
    ("password", "confirm", "error"),
    [
        ("short", None, "at least 8"),
        ("x" * (MAX_LENGTH + 1), None, "at most"),
        ("x" * 100_000, None, "at most"),
        (PASSWORD, "something else", "differ"),
    ],
)
def test_password_policy_is_a_form_error(app, client, password, confirm, error):
    response = signup(client, "ada@example.com", password=password, confirm=confirm)
    assert response.status_code == 200
    assert error in response.text
    assert get_user(app, "ada@example.com") is None
    assert outbox(app) == []


def test_a_long_passphrase_is_taken_whole(app, client):
    passphrase = "the quick brown fox " * 50
    signup(client, "ada@example.com", password=passphrase)
    from app.extensions import db
    from app.models import User

    with app.app_context():
        user = db.session.get(User, get_user(app, "ada@example.com").id)
        user.confirmed_at = user.created_at
        db.session.commit()
    cut = submit(client, "/login", {"email": "ada@example.com", "password": passphrase[:72]})
    assert cut.status_code == 200
    whole = submit(client, "/login", {"email": "ada@example.com", "password": passphrase})
    assert whole.status_code == 302


def test_invalid_or_expired_confirm_link_explains_and_offers_a_resend(app, client, monkeypatch):
    from datetime import timedelta

    from app import clock

    signup(client, "ada@example.com")
    with app.test_request_context():
        from app.auth.tokens import confirm_token_for

        token = confirm_token_for("ada@example.com")
    tampered = client.get(f"/confirm/{token[:-2]}xx")
    later = clock.utcnow() + timedelta(hours=48, minutes=1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    expired = client.get(f"/confirm/{token}")
    for response in (tampered, expired):
        assert response.status_code == 400
        assert "invalid or has expired" in response.text
        assert 'action="/confirm/resend"' in response.text
    assert get_user(app, "ada@example.com").confirmed_at is None


def test_resend_answers_the_same_for_every_address(app, client, smtp, senders):
    make_user(app, "waiting@example.com", confirmed=False)
    make_user(app, "done@example.com")
    senders(app)
    answers = [
        submit(client, "/confirm/resend", {"email": address})
        for address in ("waiting@example.com", "done@example.com", "nobody@example.com")
    ]
    assert {r.status_code for r in answers} == {302}
    assert len({r.location for r in answers}) == 1
    assert len({scrub(client.get(r.location).text) for r in answers}) == 1
    mail = wait_for_mail(smtp, "waiting@example.com", "Confirm")
    client.get(path_of(link_in(mail, "/confirm/")))
    assert get_user(app, "waiting@example.com").confirmed_at is not None
    assert outbox(app) == [("waiting@example.com", "confirm_email")]


def test_signed_in_user_sees_their_state_on_home(app, client):
    make_user(app, "ada@example.com")
    assert "Sign up" in client.get("/").text
    submit(client, "/login", {"email": "ada@example.com", "password": PASSWORD})
    home = client.get("/").text
    assert "ada@example.com" in home
    assert is_logged_in(client)


def test_forged_host_never_reaches_the_confirmation_link(app, client, smtp, senders):
    senders(app)
    headers = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    assert signup(client, "ada@example.com", headers=headers).status_code == 302
    mail = wait_for_mail(smtp, "ada@example.com")
    assert "evil.example" not in text_part(mail) + html_part(mail)
    assert link_in(mail, "/confirm/").startswith("https://mailroom.example/confirm/")
