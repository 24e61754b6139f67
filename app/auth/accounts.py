"""What the account forms do, apart from HTTP: create, confirm, authenticate, reset, change.

Each function leaves its changes and the mail they cause in one transaction and commits
it, so a state change and its email exist together or not at all.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.auth import emails
from app.auth.addresses import InvalidAddress, normalise_email
from app.auth.passwords import check_password, hash_password
from app.auth.sessions import end_other_sessions, note_login
from app.extensions import db
from app.models import User


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def register(email: str, password: str) -> None:
    """Create the account and queue its confirmation; for a taken address tell its owner.

    Both paths hash the password and queue (at most) one email, so neither answers faster.
    """
    password_hash = hash_password(password)
    existing = find_user(email)
    if existing is not None:
        emails.send_already_registered_email(existing)
        db.session.commit()
        return
    user = User(email=email, password_hash=password_hash)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        # Another request created it a moment ago: treat it as a taken address.
        db.session.rollback()
        return
    emails.send_confirmation_email(user)
    db.session.commit()


def confirm(email: str) -> User | None:
    """Mark the address confirmed (harmless when it already is)."""
    user = find_user(email)
    if user is not None and user.confirmed_at is None:
        user.confirmed_at = clock.utcnow()
        db.session.commit()
    return user


def resend_confirmation(email: str) -> None:
    user = find_user(email)
    if user is None or user.is_confirmed:
        emails.rehearse("confirm_email", email)
        return
    emails.send_confirmation_email(user)
    db.session.commit()


def authenticate(typed_email: str, password: str) -> User | None:
    """The user if address and password match; the same hashing work is done when the
    address is malformed or unknown."""
    try:
        user = find_user(normalise_email(typed_email))
    except InvalidAddress:
        user = None
    if not check_password(user.password_hash if user else None, password):
        return None
    return user


def record_login(user: User) -> None:
    note_login(user)
    db.session.commit()


def request_reset(email: str) -> None:
    user = find_user(email)
    if user is None:
        emails.rehearse("reset_password", email)
        return
    emails.send_password_reset_email(user)
    db.session.commit()


def reset_password(user: User, new_password: str) -> None:
    """Set the password from a reset link; the link itself proves the address, so an
    unconfirmed account becomes confirmed."""
    _set_password(user, new_password)
    if user.confirmed_at is None:
        user.confirmed_at = clock.utcnow()
    db.session.commit()


def change_password(user: User, new_password: str) -> None:
    _set_password(user, new_password)
    db.session.commit()


def _set_password(user: User, new_password: str) -> None:
    # A new hash kills every reset link; a new session version ends every other session.
    user.password_hash = hash_password(new_password)
    end_other_sessions(user)
    emails.send_password_changed_email(user)
