"""Helpers for the account tests: post forms the way a browser does (CSRF token from the
page), make users, and read what the SMTP server received."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.auth.passwords import hash_password
from app.extensions import db
from app.mail.models import OutboxMessage
from app.models import User
from tests.conftest import csrf_token, wait_for

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple tuning fork 42"


def submit(client, path: str, data: dict, *, page: str | None = None, **kwargs):
    """GET `page` (default `path`), take its CSRF token, POST `data` to `path`."""
    form_page = client.get(page or path, **kwargs)
    token = csrf_token(form_page.get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def make_user(app, email: str, password: str = PASSWORD, *, confirmed: bool = True) -> int:
    from app import clock

    with app.app_context():
        user = User(email=email, password_hash=hash_password(password))
        user.confirmed_at = clock.utcnow() if confirmed else None
        db.session.add(user)
        db.session.commit()
        return user.id


def get_user(app, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def outbox(app) -> list[tuple[str, str]]:
    """(recipient, template) of every queued row, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.recipient, OutboxMessage.template).order_by(OutboxMessage.id)
        )
        return [tuple(row) for row in rows]


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(OutboxMessage.id)))


def mails_to(smtp, address: str, subject_has: str = "") -> list:
    return [
        got
        for got in smtp.messages
        if address in got.rcpt_tos and subject_has in str(got.message["Subject"])
    ]


def wait_for_mail(smtp, address: str, subject_has: str = "", count: int = 1):
    """The newest of at least `count` mails to `address` whose subject has `subject_has`."""
    wait_for(lambda: len(mails_to(smtp, address, subject_has)) >= count)
    return mails_to(smtp, address, subject_has)[-1]


def text_part(received) -> str:
    return received.message.get_body(("plain",)).get_content()


def html_part(received) -> str:
    return received.message.get_body(("html",)).get_content()


def link_in(received, path_prefix: str) -> str:
    """The first absolute link in the text part whose path starts with `path_prefix`."""
    match = re.search(r"https?://[^/\s]+" + re.escape(path_prefix) + r"\S*", text_part(received))
    assert match, f"no {path_prefix} link in:\n{text_part(received)}"
    return match.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def scrub(html: str) -> str:
    """A page with its CSRF token values removed, to compare two answers; and a 429 page's
    wait, which depends on when the limit's window opened, not on the address."""
    html = re.sub(r"Wait \d+ (second|minute|hour)s?,", "Wait a while,", html)
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1"', html)


def is_logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def resolve_requests(app) -> int:
    """Turn recorded account-mail requests into outbox rows, as a sender does before a claim."""
    from app.auth import mail_requests

    resolved = 0
    with app.app_context():
        while count := mail_requests.resolve_due():
            resolved += count
    return resolved


def signup(client, email: str, **kwargs):
    """Sign-up is email-first: the form takes the address only."""
    return submit(client, "/signup", {"email": email}, **kwargs)


def choose_password(client, link_path: str, password: str = PASSWORD, again: str | None = None):
    """Open the emailed sign-up link and choose the password on its page (a POST)."""
    data = {"password": password, "password_confirm": again or password}
    return submit(client, link_path, data)


def signup_token(app, email: str) -> str:
    from app.auth.tokens import confirm_token_for

    with app.app_context():
        return confirm_token_for(email)
