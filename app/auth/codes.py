"""Emailed codes: a short one-time code beside each sign-up, reset and change-of-address
link, typed on the page that asked for it, in the same browser session.

For people who read mail on another device, and for mailboxes whose scanners break links.
The code is made when the form is posted (for every address alike) and only becomes valid
when a sender actually mails it ("armed", bound to the same state as the link: a reset code
dies with the password, a change code with the address). The database holds a random seed;
the code is an HMAC of it under SECRET_KEY, so a copy of the database alone gives no code.
A code works once, dies with its link, and allows MAX_TRIES tries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app, session
from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db

# 29 characters, none that reads as another (no 0/O, 1/I/L, U/V): read aloud without doubt.
ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
LENGTH = 8
MAX_TRIES = 5
SESSION_KEY = "email_codes"

WRONG, SPENT, OK = "wrong", "spent", "ok"
SIGNUP, RESET, CHANGE_EMAIL = "signup", "reset", "change_email"
# What the page says to a code that did not work (the same for every address), in the
# language of the page that shows it (lazy: read when the page renders).
ANSWERS = {
    WRONG: _l("That code is not right. Check it and try again."),
    SPENT: _l("This code no longer works (used, expired or tried too often). Ask for a new email."),
}
# A sign-up link is bound to nothing but the address having no confirmed account yet.
SIGNUP_BINDING = "signup"


class EmailCode(db.Model):
    __tablename__ = "email_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    seed: Mapped[str] = mapped_column(String(64))
    # What the link mailed beside it was bound to, set when the code is really sent.
    armed_for: Mapped[str | None] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


def issue(purpose: str, address: str, lifetime: timedelta) -> EmailCode:
    """A code for this browser session (added to the caller's transaction)."""
    now = clock.utcnow()
    row = EmailCode(
        purpose=purpose,
        address=address,
        seed=secrets.token_hex(16),
        tries=0,
        created_at=now,
        expires_at=now + lifetime,
    )
    db.session.add(row)
    db.session.flush()
    codes = dict(session.get(SESSION_KEY) or {})
    codes[purpose] = row.id
    session[SESSION_KEY] = codes
    return row


def code_of(row: EmailCode) -> str:
    digest = hmac.new(_key(), f"email-code|{row.seed}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:10], "big")
    chars = []
    for _ in range(LENGTH):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


def shown(code: str) -> str:
    """ABCD-EFGH: two halves are easier to read and type."""
    return f"{code[: LENGTH // 2]}-{code[LENGTH // 2 :]}"


def arm(code_id: int | None, bound_to: str) -> str | None:
    """Called by the sender that mails the code: from now on it works (while `bound_to`
    still describes the account). Returns the code to put in the email."""
    row = db.session.get(EmailCode, code_id) if code_id else None
    if row is None or row.used_at is not None:
        return None
    row.armed_for = bound_to
    return shown(code_of(row))


def check(purpose: str, typed: str, still_bound_to) -> tuple[str, EmailCode | None]:
    """(OK, row) for the right code of this browser session's latest request; (WRONG, row)
    with a try spent; (SPENT, row-or-None) once it can no longer work. `still_bound_to(row)`
    gives what the link is bound to now (None when it died)."""
    code_id = (session.get(SESSION_KEY) or {}).get(purpose)
    row = db.session.get(EmailCode, code_id) if isinstance(code_id, int) else None
    if row is None or row.purpose != purpose:
        return SPENT, None
    now = clock.utcnow()
    if row.used_at is not None or row.tries >= MAX_TRIES or now > row.expires_at:
        return SPENT, row
    row.tries += 1
    expected = code_of(row)  # computed for every row: an unarmed one takes as long
    matches = hmac.compare_digest(normalise(typed), expected)
    armed = row.armed_for is not None and row.armed_for == still_bound_to(row)
    if matches and armed:
        row.used_at = now
        db.session.commit()
        return OK, row
    db.session.commit()
    return (SPENT if row.tries >= MAX_TRIES else WRONG), row


def purge_expired(batch: int = 1000) -> int:
    """Delete codes whose link has expired (used or not), `batch` rows per transaction."""
    deleted = 0
    while True:
        ids = db.session.scalars(
            select(EmailCode.id).where(EmailCode.expires_at < clock.utcnow()).limit(batch)
        ).all()
        if not ids:
            return deleted
        db.session.execute(delete(EmailCode).where(EmailCode.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)


def normalise(typed: str | None) -> str:
    return "".join(c for c in (typed or "").upper() if c.isalnum())[: LENGTH * 2]


def tries_left(row: EmailCode | None) -> int:
    return max(0, MAX_TRIES - row.tries) if row is not None else 0


def _key() -> bytes:
    return current_app.config["SECRET_KEY"].encode()
