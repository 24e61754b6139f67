"""The one password policy, hashing, and checking that costs the same for unknown accounts."""

from __future__ import annotations

import secrets
from functools import cache

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 8
# Long passphrases are taken whole; beyond this it is not a password but a way to burn our CPU,
# and it is refused before any hashing.
MAX_LENGTH = 1024


def policy_problem(password: str | None) -> str | None:
    """Why this password cannot be used (in the page's language), or None."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(num)d characters.", num=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Use at most %(num)d characters.", num=MAX_LENGTH)
    if not password.strip():
        return _("A password cannot be only spaces.")
    return None


def hash_password(password: str) -> str:
    """scrypt (Werkzeug's default), salted: the same password never hashes the same twice."""
    return generate_password_hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """Check `password`; with no hash (unknown account) do the same work against a dummy."""
    if len(password) > MAX_LENGTH:
        return False
    if password_hash is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))
