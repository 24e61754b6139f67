"""Emailed codes beside links: typed on the page that asked, in the same browser session,
once, within 5 tries, dying with their link, never stored as themselves."""

import re

import pytest
from sqlalchemy import select, text

from app.extensions import db
from tests.accounts import (
    NEW_PASSWORD,
    PASSWORD,
    choose_password,
    get_user,
    make_user,
    resolve_requests,
    submit,
    text_part,
    wait_for_mail,
)

CODE = re.compile(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b")


def code_in(mail) -> str:
    match = CODE.search(text_part(mail))
    assert match, text_part(mail)
    return match.group(1)


def enter(client, purpose, code):
    return submit(client, f"/check-your-inbox/{purpose}", {"code": code})


def test_the_right_code_opens_the_password_page_once(app, client, smtp, senders):
    senders(app)
    answer = submit(client, "/signup", {"email": "ada@example.com"})
    assert 'autocomplete="one-time-code"' in client.get(answer.location).text
    mail = wait_for_mail(smtp, "ada@example.com", "signing up")
    code = code_in(mail)
    assert code in text_part(mail) and code in mail.message.get_body(("html",)).get_content()

    opened = enter(client, "signup", code.lower().replace("-", " "))  # as a person types it
    assert opened.status_code == 302 and "/confirm/" in opened.location
    assert choose_password(client, opened.location).status_code == 302
    assert get_user(app, "ada@example.com").confirmed_at is not None
    again = enter(client, "signup", code)
    assert again.status_code == 200 and "no longer works" in again.text


def test_five_wrong_tries_lock_the_code(app, client, smtp, senders):
    senders(app)
    submit(client, "/reset-password", {"email": "ada@example.com"})
    make_user(app, "bob@example.com")
    submit(client, "/reset-password", {"email": "bob@example.com"})
    code = code_in(wait_for_mail(smtp, "bob@example.com", "Reset"))
    answers = [enter(client, "reset", "AAAA-AAAA").text for _ in range(5)]
    assert all("not right" in a for a in answers[:4]) and "no longer works" in answers[4]
    locked = enter(client, "reset", code)
    assert locked.status_code == 200 and "no longer works" in locked.text


def test_a_code_from_another_browser_session_is_refused(app, smtp, senders):
    make_user(app, "ada@example.com")
    senders(app)
    asker, other = app.test_client(), app.test_client()
    submit(asker, "/reset-password", {"email": "ada@example.com"})
    code = code_in(wait_for_mail(smtp, "ada@example.com", "Reset"))
    refused = enter(other, "reset", code)
    assert refused.status_code == 200 and "no longer works" in refused.text
    assert enter(asker, "reset", code).status_code == 302  # still good where it was asked


def test_a_code_dies_with_its_link(app, client, smtp, senders):
    make_user(app, "ada@example.com")
    senders(app)
    submit(client, "/reset-password", {"email": "ada@example.com"})
    code = code_in(wait_for_mail(smtp, "ada@example.com", "Reset"))
    owner = app.test_client()
    submit(owner, "/login", {"email": "ada@example.com", "password": PASSWORD})
    data = {
        "current_password": PASSWORD,
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
    }
    assert submit(owner, "/account/password", data).status_code == 302
    refused = enter(client, "reset", code)
    assert refused.status_code == 200 and "not right" in refused.text


def test_a_code_for_an_address_without_an_account_never_works(app, client):
    """No mail was sent, so no code is armed: every guess answers as a wrong one does."""
    submit(client, "/reset-password", {"email": "nobody@example.com"})
    resolve_requests(app)
    with app.app_context():
        from app.auth.codes import EmailCode, code_of, shown

        row = db.session.scalar(select(EmailCode))
        right = shown(code_of(row))  # even the right one, were it guessed
    answer = enter(client, "reset", right)
    assert answer.status_code == 200 and "not right" in answer.text


def test_the_database_never_holds_a_code(app, client, smtp, senders):
    senders(app)
    submit(client, "/signup", {"email": "ada@example.com"})
    code = code_in(wait_for_mail(smtp, "ada@example.com", "signing up"))
    with app.app_context():
        stored = db.session.execute(text("SELECT * FROM email_code")).all()
    assert stored and all(code.replace("-", "") not in str(row) for row in stored)
    assert all(code not in str(row) for row in stored)


def test_a_change_of_address_code_moves_the_account(app, smtp, senders):
    make_user(app, "ada@example.com")
    client = app.test_client()
    submit(client, "/login", {"email": "ada@example.com", "password": PASSWORD})
    data = {"email": "ada@new.example.com", "current_password": PASSWORD}
    assert "one-time-code" in submit(client, "/account/email", data).text
    senders(app)
    code = code_in(wait_for_mail(smtp, "ada@new.example.com", "new address"))
    opened = submit(client, "/account/email/code", {"code": code}, page="/account/email")
    assert opened.status_code == 302 and "/account/email/confirm/" in opened.location
    assert submit(client, opened.location, {}).status_code == 302
    assert get_user(app, "ada@new.example.com") is not None


@pytest.fixture
def limited_app(make_app, smtp):
    return make_app(MAIL_PORT=smtp.port, RATELIMIT_ENABLED=True)


def test_code_tries_are_limited_per_client_too(limited_app):
    client = limited_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.9.1"
    answers = []
    for n in range(12):
        submit(client, "/reset-password", {"email": f"user{n}@example.com"})
        answers.append(enter(client, "reset", "AAAA-AAAA").status_code)
    assert answers[0] == 200 and answers[-1] == 429


def test_expired_codes_are_purged(app, client, runner, monkeypatch):
    from datetime import timedelta

    from app import clock
    from app.auth.codes import EmailCode

    submit(client, "/reset-password", {"email": "a@example.com"})  # 1 hour
    submit(client, "/signup", {"email": "b@example.com"})  # 48 hours
    later = clock.utcnow() + timedelta(hours=2)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    result = runner.invoke(args=["users", "purge"])
    assert "deleted 1 expired emailed codes" in result.output
    with app.app_context():
        assert db.session.scalars(select(EmailCode.purpose)).all() == ["signup"]
