"""Signed, purpose-bound, expiring tokens for the links we email; no table of tokens.

A confirmation token names the address it confirms. A reset token names the user and a
fingerprint of their current password hash (Django's trick): setting any new password,
through this link or a newer one, changes the hash and so kills every older link.
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
# One salt per purpose: a confirmation token can never be replayed as a reset token.
CONFIRM_SALT = "mailroom.confirm-email"
RESET_SALT = "mailroom.reset-password"


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
    return _serializer(RESET_SALT).dumps({"user": user.id, "pw": _fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """The user this link may reset, or None if it is invalid, expired or already spent."""
    payload = _load(RESET_SALT, token, RESET_MAX_AGE)
    if not isinstance(payload, dict) or not isinstance(payload.get("user"), int):
        return None
    user = db.session.get(User, payload["user"])
    if user is None or not hmac.compare_digest(str(payload.get("pw")), _fingerprint(user)):
        return None
    return user


def _fingerprint(user: User) -> str:
    # Keyed, so the token (readable base64) reveals nothing about the stored hash.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]
