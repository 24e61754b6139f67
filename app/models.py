"""The account: who can log in, and the state their tokens are bound to."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, Integer, String
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
    # Bumped by a reset or password change: every session carrying an older value ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the owner was last told "someone tried to sign up with your address".
    signup_notice_at: Mapped[datetime | None] = mapped_column(DateTime)

    def get_id(self) -> str:
        # The session stores id and version together, so bumping the version logs others out.
        return f"{self.id}:{self.session_version}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None
