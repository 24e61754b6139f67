"""Password reset: generic request, single-use expiring link, sessions end, owner told."""

from datetime import timedelta

import pytest

from app import clock
from tests.accounts import (
    NEW_PASSWORD,
    PASSWORD,
    get_user,
    html_part,
    is_logged_in,
    link_in,
    mails_to,
    make_user,
    outbox,
    path_of,
    resolve_requests,
    scrub,
    submit,
    text_part,
    wait_for_mail,
)
from tests.conftest import csrf_token


def queued_count(app) -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.mail.models import OutboxMessage

    with app.app_context():
        query = select(func.count()).where(OutboxMessage.status == "queued")
        return db.session.scalar(query)


INVALID = "This reset link is invalid or has expired"


def request_reset(client, email, **kwargs):
    return submit(client, "/reset-password", {"email": email}, **kwargs)


def choose_password(client, path, password=NEW_PASSWORD):
    return submit(client, path, {"password": password, "password_confirm": password})


def login(client, email, password):
    return submit(client, "/login", {"email": email, "password": password})


def reset_link(app, client, smtp, senders, email="ada@example.com", count=1):
    senders(app)
    request_reset(client, email)
    return path_of(link_in(wait_for_mail(smtp, email, "Reset", count=count), "/reset-password/"))


@pytest.fixture
def ada(app):
    return make_user(app, "ada@example.com")


def test_reset_flow_changes_the_password(app, client, smtp, senders, ada):
    link = reset_link(app, client, smtp, senders)
    mail = mails_to(smtp, "ada@example.com", "Reset")[0]
    assert "1 hour" in text_part(mail) and "1 hour" in html_part(mail)
    assert "not you" in text_part(mail)

    form = client.get(link)
    assert form.status_code == 200
    assert 'name="password_confirm"' in form.text
    done = choose_password(client, link)
    assert done.status_code == 302
    assert done.location == "/login"
    assert not is_logged_in(client)

    assert login(client, "ada@example.com", PASSWORD).status_code == 200
    assert login(client, "ada@example.com", NEW_PASSWORD).status_code == 302

    notice = wait_for_mail(smtp, "ada@example.com", "password was changed")
    assert "/reset-password" in text_part(notice)
    assert "not you" in text_part(notice)


def test_reset_request_answers_the_same_for_every_address(app, client, ada):
    make_user(app, "waiting@example.com", confirmed=False)
    answers = [
        request_reset(client, address)
        for address in ("ada@example.com", "waiting@example.com", "nobody@example.com")
    ]
    assert {r.status_code for r in answers} == {302}
    assert len({r.location for r in answers}) == 1
    assert len({scrub(client.get(r.location).text) for r in answers}) == 1
    resolve_requests(app)
    assert outbox(app) == [
        ("ada@example.com", "reset_password"),
        ("waiting@example.com", "reset_password"),
    ]


def test_reset_mail_is_never_sent_after_its_link_expires(app, client, ada):
    from sqlalchemy import select

    from app.extensions import db
    from app.mail.models import OutboxMessage

    before = clock.utcnow()
    request_reset(client, "ada@example.com")
    resolve_requests(app)
    with app.app_context():
        row = db.session.scalar(select(OutboxMessage))
        assert timedelta(minutes=59) < row.not_after - before <= timedelta(hours=1, seconds=5)


def test_get_never_spends_the_link(app, client, smtp, senders, ada):
    link = reset_link(app, client, smtp, senders)
    for _ in range(3):
        assert client.get(link).status_code == 200
    assert choose_password(client, link).status_code == 302


def test_link_works_once_and_every_dead_link_gets_the_same_page(
    app, client, smtp, senders, ada, monkeypatch
):
    older = reset_link(app, client, smtp, senders)
    # The second request comes a minute later (two links from the same second are the same).
    later = clock.utcnow() + timedelta(minutes=1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    request_reset(client, "ada@example.com")
    mail = wait_for_mail(smtp, "ada@example.com", "Reset", count=2)
    newer = path_of(link_in(mail, "/reset-password/"))
    assert newer != older
    done = choose_password(client, newer)
    assert done.status_code == 302
    client.get(done.location)  # shows (and so clears) the "password changed" message
    hash_after_reset = get_user(app, "ada@example.com").password_hash

    tampered = newer[:-3] + ("abc" if not newer.endswith("abc") else "xyz")
    dead = [newer, tampered, older, "/reset-password/not-a-token"]
    answers = [client.get(path) for path in dead]
    # A valid CSRF token from another page: only the link itself is wrong.
    other_password = {"password": "yet another pw", "password_confirm": "yet another pw"}
    answers += [submit(client, path, other_password, page="/login") for path in dead]
    assert {r.status_code for r in answers} == {400}
    assert len({scrub(r.text) for r in answers}) == 1
    assert INVALID in answers[0].text
    assert get_user(app, "ada@example.com").password_hash == hash_after_reset
    assert len(mails_to(smtp, "ada@example.com", "password was changed")) <= 1


def test_expired_link_gets_the_invalid_page_and_changes_nothing(
    app, client, smtp, senders, ada, monkeypatch
):
    link = reset_link(app, client, smtp, senders)
    before = get_user(app, "ada@example.com")
    form_page = client.get(link).text
    later = clock.utcnow() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    page = client.get(link)
    assert page.status_code == 400 and INVALID in page.text
    posted = client.post(
        link,
        data={
            "csrf_token": csrf_token(form_page),
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert posted.status_code == 400 and INVALID in posted.text
    after = get_user(app, "ada@example.com")
    assert after.password_hash == before.password_hash


def test_a_password_change_kills_an_unused_link(app, client, smtp, senders, ada):
    link = reset_link(app, client, smtp, senders)
    other = app.test_client()
    login(other, "ada@example.com", PASSWORD)
    submit(
        other,
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert client.get(link).status_code == 400


def test_reset_logs_out_other_sessions_and_sends_the_notice(app, client, smtp, senders, ada):
    elsewhere = app.test_client()
    login(elsewhere, "ada@example.com", PASSWORD)
    assert is_logged_in(elsewhere)
    link = reset_link(app, client, smtp, senders)
    choose_password(client, link)
    assert not is_logged_in(elsewhere)
    assert not is_logged_in(client)
    wait_for_mail(smtp, "ada@example.com", "password was changed")


def test_reset_confirms_an_unconfirmed_address(app, client, smtp, senders):
    make_user(app, "new@example.com", confirmed=False)
    link = reset_link(app, client, smtp, senders, email="new@example.com")
    choose_password(client, link)
    assert get_user(app, "new@example.com").confirmed_at is not None
    assert login(client, "new@example.com", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},
        {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"},
        {"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    ],
)
def test_forged_host_headers_never_reach_the_links(app, client, smtp, senders, ada, headers):
    senders(app)
    response = request_reset(client, "ada@example.com", headers=headers)
    assert response.status_code == 302
    mail = wait_for_mail(smtp, "ada@example.com", "Reset")
    assert "evil.example" not in text_part(mail) + html_part(mail)
    assert link_in(mail, "/reset-password/").startswith("https://mailroom.example/reset-password/")


def test_twenty_requests_in_a_minute_send_at_most_the_cap(app, client, ada):
    cap = app.config["MAIL_ACCOUNT_MAILS_PER_HOUR"]
    answers = [request_reset(client, "ada@example.com") for _ in range(20)]
    unknown = [request_reset(client, "nobody@example.com") for _ in range(3)]
    resolve_requests(app)
    assert outbox(app) == [("ada@example.com", "reset_password")] * 20
    assert queued_count(app) == cap  # the rest are recorded as suppressed, with the reason
    assert {(r.status_code, r.location) for r in answers + unknown} == {
        (302, "/check-your-inbox/reset")
    }


def test_bad_address_in_a_reset_request_is_a_form_error(app, client, ada):
    for bad in ("ada@example.com\r\nBcc: eve@evil.test", "ada@example.com, eve@evil.test"):
        response = request_reset(client, bad)
        assert response.status_code == 200
        assert 'class="field-error"' in response.text
    assert resolve_requests(app) == 0
    assert outbox(app) == []


def test_token_pages_keep_the_token_out_of_other_sites_logs(app, client, smtp, senders, ada):
    link = reset_link(app, client, smtp, senders)
    assert client.get(link).headers["Referrer-Policy"] == "same-origin"
