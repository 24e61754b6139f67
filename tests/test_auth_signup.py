"""Email-first sign-up: the address only, then the password chosen on the page the emailed
link opens. Through the test client and a real SMTP server."""

from datetime import timedelta

import pytest

from app import clock
from app.auth.passwords import MAX_LENGTH
from tests.accounts import (
    NEW_PASSWORD,
    PASSWORD,
    choose_password,
    get_user,
    html_part,
    is_logged_in,
    link_in,
    make_user,
    outbox,
    path_of,
    resolve_requests,
    scrub,
    signup,
    signup_token,
    submit,
    text_part,
    wait_for_mail,
)


def login(client, email, password=PASSWORD):
    return submit(client, "/login", {"email": email, "password": password})


def test_signup_then_choose_password_then_log_in(app, client, smtp, senders):
    senders(app)
    response = signup(client, "Ada@Example.COM")
    assert response.status_code == 302
    assert client.get(response.location).status_code == 200

    mail = wait_for_mail(smtp, "ada@example.com", "Finish signing up")
    assert mail.rcpt_tos == ["ada@example.com"]
    assert "2 days" in text_part(mail) and "2 days" in html_part(mail)
    link = link_in(mail, "/confirm/")
    assert link.startswith("https://mailroom.example/confirm/")
    assert link in html_part(mail)
    assert get_user(app, "ada@example.com") is None  # no account until the password is chosen

    page = client.get(path_of(link))
    assert page.status_code == 200
    assert 'name="password_confirm"' in page.text
    assert 'autocomplete="username"' in page.text
    done = choose_password(client, path_of(link))
    assert done.status_code == 302 and done.location.endswith("/login")
    assert get_user(app, "ada@example.com").confirmed_at is not None
    assert 'value="ada@example.com"' in client.get("/login").text  # the address filled in

    assert login(client, "ada@example.com").status_code == 302
    assert is_logged_in(client)
    assert submit(client, "/logout", {}, page="/account").status_code == 302
    assert not is_logged_in(client)


def test_opening_the_link_changes_nothing(app, client):
    """Mail scanners fetch every link, some run the page's scripts: a GET must not create,
    confirm or spend anything, and the page must not submit itself."""
    signup(client, "ada@example.com")
    token = signup_token(app, "ada@example.com")
    for _ in range(3):
        page = client.get(f"/confirm/{token}")
        assert page.status_code == 200
        assert 'method="post"' in page.text
    assert_nothing_submits_itself(client, page.text)
    assert get_user(app, "ada@example.com") is None
    assert choose_password(client, f"/confirm/{token}").status_code == 302


def assert_nothing_submits_itself(client, html: str) -> None:
    """No inline script, and no script the page loads submits a form or follows a link."""
    import re

    assert not re.search(r"<script(?![^>]*\bsrc=)", html, re.IGNORECASE)
    for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', html):
        code = client.get(src).text
        for trigger in (".submit(", "requestSubmit", "location", ".click("):
            assert trigger not in code, f"{src} calls {trigger}"


def test_the_link_dies_once_used(app, client):
    token = signup_token(app, "ada@example.com")
    assert choose_password(client, f"/confirm/{token}").status_code == 302
    hash_after_first = get_user(app, "ada@example.com").password_hash
    again = client.get(f"/confirm/{token}")
    assert again.status_code == 400
    assert "no longer works" in again.text
    attacker = app.test_client()
    replay = attacker.post(f"/confirm/{token}", data={"password": NEW_PASSWORD})
    assert replay.status_code == 400
    assert get_user(app, "ada@example.com").password_hash == hash_after_first


def test_a_stranger_cannot_complete_a_signup_for_someone_elses_address(app, client):
    """Signing up victim@corp gives the attacker nothing to log in with: the password is
    chosen only through the link in the victim's mailbox."""
    signup(client, "victim@corp.example")
    resolve_requests(app)
    assert outbox(app) == [("victim@corp.example", "confirm_email")]
    assert get_user(app, "victim@corp.example") is None
    for password in (PASSWORD, "anything at all"):
        response = login(client, "victim@corp.example", password)
        assert response.status_code == 200
        assert "Invalid email or password" in response.text


def test_signup_and_login_answer_the_same_for_registered_and_unknown(app, client):
    make_user(app, "taken@example.com")
    known, unknown = signup(client, "taken@example.com"), signup(client, "fresh@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known.location == unknown.location
    assert scrub(client.get(known.location).text) == scrub(client.get(unknown.location).text)
    # The attacker "chose" PASSWORD for both; neither log-in tells them anything.
    known_login, unknown_login = (
        login(client, "taken@example.com", "guess 1234"),
        login(client, "fresh@example.com", PASSWORD),
    )
    assert known_login.status_code == unknown_login.status_code == 200
    typed = scrub(known_login.text).replace("taken@", "X@")
    assert typed == scrub(unknown_login.text).replace("fresh@", "X@")


def test_a_taken_address_gets_the_notice_instead(app, client, smtp, senders):
    make_user(app, "taken@example.com")
    senders(app)
    signup(client, "taken@example.com")
    notice = wait_for_mail(smtp, "taken@example.com", "tried to sign up")
    assert "/reset-password" in text_part(notice)
    assert "/confirm/" not in text_part(notice)


def test_already_registered_notice_goes_at_most_once_a_day(app, client, monkeypatch):
    make_user(app, "taken@example.com")
    for _ in range(3):
        signup(client, "taken@example.com")
    resolve_requests(app)
    assert outbox(app) == [("taken@example.com", "already_registered")]
    later = clock.utcnow() + timedelta(days=1, minutes=1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    signup(client, "taken@example.com")
    resolve_requests(app)
    assert outbox(app).count(("taken@example.com", "already_registered")) == 2


def test_an_unconfirmed_account_from_before_is_completed_by_the_new_link(app, client):
    """Accounts made when sign-up took a password (perhaps a squatter's) cannot log in with
    it; the mailbox owner completes them through a new link or a reset."""
    make_user(app, "old@example.com", PASSWORD, confirmed=False)
    refused = login(client, "old@example.com", PASSWORD)
    assert refused.status_code == 200 and "Invalid email or password" in refused.text

    submit(client, "/confirm/resend", {"email": "old@example.com"})
    resolve_requests(app)
    assert outbox(app) == [("old@example.com", "confirm_email")]
    token = signup_token(app, "old@example.com")
    assert choose_password(client, f"/confirm/{token}", NEW_PASSWORD).status_code == 302
    assert login(client, "old@example.com", PASSWORD).status_code == 200
    assert login(client, "old@example.com", NEW_PASSWORD).status_code == 302


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
    assert resolve_requests(app) == 0
    assert outbox(app) == []


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
    resolve_requests(app)
    assert outbox(app) == [("ada@xn--bcher-kva.example", "confirm_email")]
    token = signup_token(app, "ada@xn--bcher-kva.example")
    choose_password(client, f"/confirm/{token}")
    assert get_user(app, "ada@xn--bcher-kva.example") is not None


@pytest.mark.parametrize(
    ("password", "again", "error"),
    [
        ("short", None, "at least 8"),
        ("x" * (MAX_LENGTH + 1), None, "at most"),
        ("x" * 20_000, None, "at most"),
        (PASSWORD, "something else", "differ"),
    ],
)
def test_password_policy_is_a_form_error(app, client, password, again, error):
    token = signup_token(app, "ada@example.com")
    response = choose_password(client, f"/confirm/{token}", password, again)
    assert response.status_code == 200
    assert error in response.text
    assert get_user(app, "ada@example.com") is None


def test_a_long_passphrase_is_taken_whole(app, client):
    passphrase = "the quick brown fox " * 50
    choose_password(client, f"/confirm/{signup_token(app, 'ada@example.com')}", passphrase)
    assert login(client, "ada@example.com", passphrase[:72]).status_code == 200
    assert login(client, "ada@example.com", passphrase).status_code == 302


def test_invalid_or_expired_link_explains_and_offers_a_resend(app, client, monkeypatch):
    token = signup_token(app, "ada@example.com")
    tampered = client.get(f"/confirm/{token[:-2]}xx")
    later = clock.utcnow() + timedelta(hours=48, minutes=1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    expired = client.get(f"/confirm/{token}")
    expired_post = choose_password(app.test_client(), f"/confirm/{token}")
    for response in (tampered, expired, expired_post):
        assert response.status_code == 400
        assert "no longer works" in response.text
        assert 'action="/confirm/resend"' in response.text
    assert get_user(app, "ada@example.com") is None


def test_resend_answers_the_same_for_every_address(app, client):
    make_user(app, "waiting@example.com", confirmed=False)
    make_user(app, "done@example.com")
    answers = [
        submit(client, "/confirm/resend", {"email": address})
        for address in ("waiting@example.com", "done@example.com", "nobody@example.com")
    ]
    assert {r.status_code for r in answers} == {302}
    assert len({r.location for r in answers}) == 1
    assert len({scrub(client.get(r.location).text) for r in answers}) == 1
    resolve_requests(app)
    assert sorted(outbox(app)) == [
        ("done@example.com", "already_registered"),
        ("nobody@example.com", "confirm_email"),
        ("waiting@example.com", "confirm_email"),
    ]


def test_signed_in_user_sees_their_state_on_home(app, client):
    make_user(app, "ada@example.com")
    assert "Sign up" in client.get("/").text
    login(client, "ada@example.com")
    assert "ada@example.com" in client.get("/").text
    assert is_logged_in(client)


def test_forged_host_never_reaches_the_link(app, client, smtp, senders):
    senders(app)
    headers = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    assert signup(client, "ada@example.com", headers=headers).status_code == 302
    mail = wait_for_mail(smtp, "ada@example.com")
    assert "evil.example" not in text_part(mail) + html_part(mail)
    assert link_in(mail, "/confirm/").startswith("https://mailroom.example/confirm/")
