"""The account: who can log in, the state their tokens are bound to, and the sessions that
are logged in to it."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The canonical form from email-validator, lower-cased: unique, and the only address mailed.
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the owner was last told "someone tried to sign up with your address".
    signup_notice_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The language chosen on the account page (app.i18n.LANGUAGES), or None: follow the browser.
    locale: Mapped[str | None] = mapped_column(String(16))

    # The cookie value of the session this object was loaded or logged in with: set by
    # app.auth.sessions, never stored. Flask-Login keeps what `get_session_token()` returns in
    # the cookie (its `id_attribute`), so the cookie names a session, not the account.
    session_token = None

    def get_session_token(self) -> str | None:
        return self.session_token

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class UserSession(db.Model):
    """One logged-in browser. It ends when revoked, idle too long or too old (checked on
    every request by app.auth.sessions)."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Names the session in URLs ("log out this one"): random, and not the cookie's value.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    # SHA-256 of the cookie's random value: whoever reads this table cannot ride a session.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Written at most once a minute: not a database write per request.
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
