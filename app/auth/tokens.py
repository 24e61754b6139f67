"""Signed, purpose-bound, expiring tokens for the links we email; no table of tokens.

A confirmation token names the address it confirms. A reset or change-of-address token
names the user and a fingerprint of their current password hash and address (Django's
trick): setting any new password or address, through this link or another, changes the
fingerprint and so kills every older link. An undo link names the address it gives back and
the one it replaces, so it dies once the account's address is anything else.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, timedelta

from flask import current_app
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

from app import clock
from app.extensions import db
from app.models import User

CONFIRM_MAX_AGE = timedelta(hours=48)
RESET_MAX_AGE = timedelta(hours=1)
CHANGE_EMAIL_MAX_AGE = timedelta(hours=24)
# The old address can take the account back for a week after a change of address.
UNDO_CHANGE_MAX_AGE = timedelta(days=7)
# One salt per purpose: a confirmation token can never be replayed as a reset token.
CONFIRM_SALT = "mailroom.confirm-email"
RESET_SALT = "mailroom.reset-password"
CHANGE_SALT = "mailroom.change-email"
UNDO_CHANGE_SALT = "mailroom.undo-email-change"


class _ClockSigner(TimestampSigner):
    """Reads the time from app.clock, so tests move the clock instead of sleeping."""

    def get_timestamp(self) -> int:
        return int(clock.utcnow().replace(tzinfo=UTC).timestamp())


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt, signer=_ClockSigner)


def _load(salt: str, token: str, max_age: timedelta):
    """The payload, or None for a tampered, expired or foreign token."""
    try:
        return _serializer(salt).loads(token, max_age=int(max_age.total_seconds()))
    except (BadData, TypeError, ValueError, UnicodeError):
        return None


def confirm_token_for(email: str) -> str:
    return _serializer(CONFIRM_SALT).dumps({"email": email})


def email_from_confirm_token(token: str) -> str | None:
    payload = _load(CONFIRM_SALT, token, CONFIRM_MAX_AGE)
    if not isinstance(payload, dict) or not isinstance(payload.get("email"), str):
        return None
    return payload["email"]


def reset_token_for(user: User) -> str:
    return _serializer(RESET_SALT).dumps({"user": user.id, "fp": fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """The user this link may reset, or None if it is invalid, expired or already spent."""
    return _bound_user(_load(RESET_SALT, token, RESET_MAX_AGE))


def change_token_for(user: User, new_email: str) -> str:
    return _serializer(CHANGE_SALT).dumps(
        {"user": user.id, "new": new_email, "fp": fingerprint(user)}
    )


def change_from_token(token: str) -> tuple[User, str] | None:
    """(user, new address) for a live change-of-address link, else None."""
    payload = _load(CHANGE_SALT, token, CHANGE_EMAIL_MAX_AGE)
    user = _bound_user(payload)
    if user is None or not isinstance(payload.get("new"), str):
        return None
    return user, payload["new"]


def undo_token_for(user: User, old_email: str) -> str:
    return _serializer(UNDO_CHANGE_SALT).dumps(
        {"user": user.id, "old": old_email, "now": user.email}
    )


def undo_from_token(token: str) -> tuple[User, str] | None:
    """(user, the address to give back) while the account still has the address the link
    was sent about, within UNDO_CHANGE_MAX_AGE; else None."""
    payload = _load(UNDO_CHANGE_SALT, token, UNDO_CHANGE_MAX_AGE)
    if not isinstance(payload, dict) or not isinstance(payload.get("user"), int):
        return None
    user = db.session.get(User, payload["user"])
    old, now = payload.get("old"), payload.get("now")
    if user is None or not isinstance(old, str) or now != user.email:
        return None
    return user, old


def _bound_user(payload) -> User | None:
    """The user a fingerprinted payload names, if the fingerprint still matches."""
    if not isinstance(payload, dict) or not isinstance(payload.get("user"), int):
        return None
    user = db.session.get(User, payload["user"])
    if user is None or not hmac.compare_digest(str(payload.get("fp")), fingerprint(user)):
        return None
    return user


def fingerprint(user: User) -> str:
    """What reset and change links (and their codes) are bound to: password and address."""
    # Keyed, so the token (readable base64) reveals nothing about the stored hash.
    key = current_app.config["SECRET_KEY"].encode()
    state = f"{user.password_hash}\n{user.email}".encode()
    return hmac.new(key, state, hashlib.sha256).hexdigest()[:32]
