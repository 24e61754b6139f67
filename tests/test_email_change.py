"""Change of address: asked with the current password, confirmed from the new mailbox by a
POST, told to the old one twice, undone from the old one for 7 days. Real SMTP server."""

from datetime import timedelta

import pytest

from app import clock
from tests.accounts import (
    NEW_PASSWORD,
    PASSWORD,
    get_user,
    is_logged_in,
    link_in,
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


def logged_in(app, email="ada@example.com", password=PASSWORD):
    client = app.test_client()
    assert submit(client, "/login", {"email": email, "password": password}).status_code == 302
    return client


def ask_change(client, new_email, password=PASSWORD):
    data = {"email": new_email, "current_password": password}
    return submit(client, "/account/email", data)


def press_button(client, path):
    return submit(client, path, {})


@pytest.fixture
def ada(app):
    return make_user(app, "ada@example.com")


def test_the_address_changes_only_when_the_new_mailbox_presses_the_button(app, smtp, senders, ada):
    client = logged_in(app)
    answer = ask_change(client, "ada@new.example.com")
    assert answer.status_code == 200 and "Check the new inbox" in answer.text
    senders(app)
    started = wait_for_mail(smtp, "ada@example.com", "being changed")
    assert "a***@new.example.com" in text_part(started)
    assert "ada@new.example.com" not in text_part(started)
    link = path_of(link_in(wait_for_mail(smtp, "ada@new.example.com", "new address"), "/account"))

    for _ in range(2):  # a link scanner's GETs
        assert client.get(link).status_code == 200
    assert get_user(app, "ada@example.com") is not None

    assert press_button(client, link).status_code == 302
    assert get_user(app, "ada@new.example.com") is not None
    assert get_user(app, "ada@example.com") is None
    changed = wait_for_mail(smtp, "ada@example.com", "was changed")
    assert "/account/email/undo/" in text_part(changed)
    assert is_logged_in(client)  # this session carries on
    assert client.get(link).status_code == 400  # the link died with the change


def test_old_links_die_with_the_change(app, ada):
    from app.auth.tokens import change_token_for, reset_token_for
    from app.extensions import db
    from app.models import User

    with app.test_request_context():
        user = db.session.get(User, ada)
        reset = f"/reset-password/{reset_token_for(user)}"
        earlier = f"/account/email/confirm/{change_token_for(user, 'first@example.com')}"
        later = f"/account/email/confirm/{change_token_for(user, 'second@example.com')}"
    client = app.test_client()
    assert client.get(reset).status_code == 200
    assert press_button(client, later).status_code == 302
    assert client.get(reset).status_code == 400
    assert client.get(earlier).status_code == 400
    assert get_user(app, "second@example.com") is not None


def test_a_wrong_current_password_changes_nothing(app, ada):
    client = logged_in(app)
    answer = ask_change(client, "ada@new.example.com", password="not my password")
    assert answer.status_code == 200
    assert "not your current password" in answer.text
    assert resolve_requests(app) == 0


def test_a_taken_address_answers_exactly_as_a_free_one(app, ada):
    make_user(app, "bob@example.com")
    client = logged_in(app)
    taken, free = ask_change(client, "bob@example.com"), ask_change(client, "new@example.com")
    assert taken.status_code == free.status_code == 200
    assert scrub(taken.text) == scrub(free.text)
    resolve_requests(app)
    assert sorted(outbox(app)) == [
        ("ada@example.com", "email_change_requested"),
        ("ada@example.com", "email_change_requested"),
        ("bob@example.com", "address_in_use"),
        ("new@example.com", "change_email"),
    ]
    assert get_user(app, "bob@example.com") is not None


def undo_link(app, smtp, senders, client):
    ask_change(client, "ada@new.example.com")
    senders(app)
    link = path_of(link_in(wait_for_mail(smtp, "ada@new.example.com", "new address"), "/account"))
    press_button(client, link)
    return path_of(link_in(wait_for_mail(smtp, "ada@example.com", "was changed"), "/account"))


def test_undo_gives_the_address_back_ends_every_session_and_asks_for_a_password(
    app, smtp, senders, ada
):
    client, other = logged_in(app), logged_in(app)
    undo = undo_link(app, smtp, senders, client)
    assert app.test_client().get(undo).status_code == 200  # a GET changes nothing
    assert get_user(app, "ada@new.example.com") is not None

    owner = app.test_client()
    answer = press_button(owner, undo)
    assert answer.status_code == 302 and "/reset-password/" in answer.location
    assert get_user(app, "ada@example.com") is not None
    assert not is_logged_in(client) and not is_logged_in(other)
    refused = submit(owner, "/login", {"email": "ada@example.com", "password": PASSWORD})
    assert refused.status_code == 200  # the old password no longer opens it
    data = {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    assert submit(owner, answer.location, data).status_code == 302
    welcome = submit(owner, "/login", {"email": "ada@example.com", "password": NEW_PASSWORD})
    assert welcome.status_code == 302
    assert app.test_client().get(undo).status_code == 400  # used: the address is back


def test_undo_is_refused_after_seven_days(app, smtp, senders, ada, monkeypatch):
    undo = undo_link(app, smtp, senders, logged_in(app))
    owner = app.test_client()
    token = csrf_token(owner.get(undo).text)  # the page opened within the week...
    later = clock.utcnow() + timedelta(days=7, minutes=1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    answer = owner.post(undo, data={"csrf_token": token})  # ...its button pressed after it
    assert answer.status_code == 400
    assert owner.get(undo).status_code == 400
    assert get_user(app, "ada@new.example.com") is not None


def test_the_change_needs_a_login(client):
    assert client.get("/account/email").status_code == 302


def test_changing_to_the_same_address_is_a_form_error(app, ada):
    answer = ask_change(logged_in(app), "ada@example.com")
    assert "already your address" in answer.text
    assert resolve_requests(app) == 0


def test_the_cap_counts_change_links_a_stranger_could_aim_at_an_address(make_app, smtp):
    app = make_app(MAIL_PORT=smtp.port, MAIL_ACCOUNT_MAILS_PER_HOUR=1)
    make_user(app, "ada@example.com")
    client = logged_in(app)
    for _ in range(3):
        ask_change(client, "victim@example.com")
    resolve_requests(app)
    from sqlalchemy import select

    from app.extensions import db
    from app.mail.models import OutboxMessage

    with app.app_context():
        statuses = db.session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.recipient == "victim@example.com")
        ).all()
    assert statuses == ["queued", "suppressed", "suppressed"]
