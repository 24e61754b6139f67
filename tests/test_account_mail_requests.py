"""The mail forms record "a mail was asked for this address" and nothing else; the senders
decide what goes out, once, within the per-address cap that only strangers' mail counts."""

import threading

import pytest
from sqlalchemy import event, select

from app.auth import mail_requests
from app.extensions import db
from app.mail.models import SUPPRESSED, OutboxMessage
from tests.accounts import (
    NEW_PASSWORD,
    PASSWORD,
    make_user,
    outbox,
    resolve_requests,
    submit,
    wait_for_mail,
)

FORMS = [("/signup", "signup"), ("/confirm/resend", "resend"), ("/reset-password", "reset")]


def statements_during(app, action) -> list[str]:
    """The SQL a request runs, normalised: what the database is asked to do, in order."""
    seen = []
    with app.app_context():
        engine = db.engine

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


@pytest.mark.parametrize(("path", "_kind"), FORMS)
def test_the_request_does_the_same_work_for_a_registered_and_an_unknown_address(
    app, client, path, _kind
):
    """Same statements, same order, same page: nothing in the request path depends on
    whether the address has an account (the timing bench measures what this implies)."""
    make_user(app, "known@example.com")
    make_user(app, "pending@example.com", confirmed=False)
    client.get(path)  # warm up templates and the first connection
    runs = {}
    for address in ("known@example.com", "pending@example.com", "unknown@example.com"):
        token_page = client.get(path)
        from tests.conftest import csrf_token

        token = csrf_token(token_page.text)
        runs[address] = statements_during(
            app, lambda a=address, t=token: client.post(path, data={"csrf_token": t, "email": a})
        )
    assert runs["known@example.com"] == runs["unknown@example.com"]
    assert runs["pending@example.com"] == runs["unknown@example.com"]
    assert not any("mail_outbox" in s for s in runs["known@example.com"])
    assert outbox(app) == []  # nothing is decided until a sender resolves the requests


def test_each_request_becomes_mail_once_with_two_resolvers_at_work(app):
    with app.app_context():
        for n in range(60):
            db.session.add(
                mail_requests.AccountMailRequest(kind="signup", address=f"u{n}@example.com")
            )
        db.session.commit()
    errors = []

    def resolve():
        try:
            resolve_requests(app)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=resolve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(outbox(app)) == sorted((f"u{n}@example.com", "confirm_email") for n in range(60))


def test_a_request_that_cannot_be_composed_is_dropped_without_blocking_others(app, monkeypatch):
    from app.auth import emails

    real = emails.send_signup_email

    def broken_for_one(address, code_id=None, locale=None):
        if address == "bad@example.com":
            raise RuntimeError("template exploded")
        return real(address, code_id, locale)

    monkeypatch.setattr(emails, "send_signup_email", broken_for_one)
    with app.app_context():
        for address in ("a@example.com", "bad@example.com", "b@example.com"):
            db.session.add(mail_requests.AccountMailRequest(kind="signup", address=address))
        db.session.commit()
    assert resolve_requests(app) == 3
    assert sorted(outbox(app)) == [
        ("a@example.com", "confirm_email"),
        ("b@example.com", "confirm_email"),
    ]


def test_security_notices_never_eat_the_cap(app, client):
    """Two password changes and a reset used to leave no room for the next "someone tried
    to sign up" notice, silently. Only mail a stranger can trigger counts."""
    make_user(app, "ada@example.com")
    assert submit(client, "/login", {"email": "ada@example.com", "password": PASSWORD})
    for old, new in ((PASSWORD, NEW_PASSWORD), (NEW_PASSWORD, PASSWORD)):
        data = {"current_password": old, "password": new, "password_confirm": new}
        assert submit(client, "/account/password", data).status_code == 302
    submit(app.test_client(), "/reset-password", {"email": "ada@example.com"})
    submit(app.test_client(), "/signup", {"email": "ada@example.com"})
    resolve_requests(app)
    assert outbox(app) == [
        ("ada@example.com", "password_changed"),
        ("ada@example.com", "password_changed"),
        ("ada@example.com", "reset_password"),
        ("ada@example.com", "already_registered"),
    ]
    with app.app_context():
        assert SUPPRESSED not in db.session.scalars(select(OutboxMessage.status)).all()


def test_past_the_cap_a_request_leaves_a_suppressed_row_with_the_reason(make_app, smtp, senders):
    app = make_app(MAIL_PORT=smtp.port, MAIL_ACCOUNT_MAILS_PER_HOUR=2)
    make_user(app, "ada@example.com")
    for _ in range(4):
        submit(app.test_client(), "/reset-password", {"email": "ada@example.com"})
    resolve_requests(app)
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.status, OutboxMessage.last_error, OutboxMessage.mime).order_by(
                OutboxMessage.id
            )
        ).all()
    assert [status for status, _, _ in rows] == ["queued", "queued", SUPPRESSED, SUPPRESSED]
    assert all("cap" in (error or "") for _, error, _ in rows[2:])
    assert all(mime is None for _, _, mime in rows[2:])  # no live link kept
    senders(app)
    wait_for_mail(smtp, "ada@example.com", "Reset", count=2)


def test_the_password_changed_notice_goes_out_past_the_cap(make_app, smtp):
    app = make_app(MAIL_PORT=smtp.port, MAIL_ACCOUNT_MAILS_PER_HOUR=1)
    make_user(app, "ada@example.com")
    for _ in range(3):
        submit(app.test_client(), "/reset-password", {"email": "ada@example.com"})
    resolve_requests(app)
    client = app.test_client()
    submit(client, "/login", {"email": "ada@example.com", "password": PASSWORD})
    data = {
        "current_password": PASSWORD,
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
    }
    submit(client, "/account/password", data)
    with app.app_context():
        notice = db.session.scalar(
            select(OutboxMessage.status).where(OutboxMessage.template == "password_changed")
        )
    assert notice == "queued"
