"""Helpers for the admin console tests: users made in the database, and sessions opened
by writing Flask-Login's session keys (so these tests do not depend on the /login page)."""

from __future__ import annotations

from sqlalchemy import func, select

from app import clock
from app.auth.passwords import hash_password
from app.auth.sessions import open_session
from app.extensions import db
from app.mail.models import OutboxMessage
from app.models import User
from tests.conftest import csrf_token

ADMIN_EMAIL = "admin@example.com"
PASSWORD = "correct horse battery"


def make_user(app, email: str, *, admin: bool = False) -> str:
    """Create a confirmed user and a server-side session for it; returns the session's
    cookie value (what Flask-Login keeps as the user id)."""
    with app.app_context():
        user = User(
            email=email,
            password_hash=hash_password(PASSWORD),
            is_admin=admin,
            confirmed_at=clock.utcnow(),
        )
        db.session.add(user)
        db.session.flush()
        _, session_id = open_session(user)
        db.session.commit()
        return session_id


def log_in(client, session_id: str) -> None:
    """Open a session the way Flask-Login stores one."""
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


def admin_client(app, email: str = ADMIN_EMAIL):
    client = app.test_client()
    log_in(client, make_user(app, email, admin=True))
    return client


def token_from(client, path: str = "/admin/mail") -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def post_form(client, path: str, data: dict | None = None, page: str = "/admin/mail"):
    """POST like a browser: with the CSRF token of the page the form is on."""
    return client.post(path, data={"csrf_token": token_from(client, page), **(data or {})})


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(OutboxMessage.id)))


def latest_message(app) -> OutboxMessage:
    with app.app_context():
        row = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        db.session.expunge(row)
        return row
