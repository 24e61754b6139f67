"""Who is logged in: sessions kept on the server, one row per logged-in browser.

The cookie carries only a random session id; the table keeps its SHA-256. Every request
checks the row (there, not revoked, not idle or too old), so ending a session ends it for
every copy of its cookie. Log-out, a password change, a reset and an admin each revoke rows.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, has_request_context, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, user_logged_out
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import OperationalError

from app import clock
from app.auth.user_agents import describe
from app.extensions import db, login_manager
from app.models import User, UserSession

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Log in to see that page.")
# The flash is stored in the cookie: a plain string, in the language of the page asked for.
login_manager.localize_callback = str
login_manager.login_message_category = "info"
# Flask-Login keeps this in the cookie: the session's random id, never the account's id.
login_manager.id_attribute = "get_session_token"

# 256 bits from the OS: a session id cannot be guessed, only stolen.
TOKEN_BYTES = 32
# last_seen_at is a write: once a minute is precise enough for an idle limit in minutes.
TOUCH_EVERY = timedelta(minutes=1)
PURGE_BATCH = 1000


@dataclass(frozen=True)
class ActiveSession:
    """One line of the account page's list of sessions."""

    public_id: str
    browser: str
    client_address: str | None
    created_at: datetime
    last_seen_at: datetime
    is_current: bool


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetimes() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return (
        timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        timedelta(hours=config["SESSION_MAX_HOURS"]),
    )


def _is_live(row: UserSession, now: datetime) -> bool:
    idle, longest = _lifetimes()
    return (
        row.revoked_at is None
        and now - row.last_seen_at <= idle
        and now - row.created_at <= longest
    )


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """The user of the session the cookie names, if that session is still live."""
    if not token:
        return None
    found = db.session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _hash(token))
    ).first()
    if found is None or not _is_live(found.UserSession, clock.utcnow()):
        return None
    row, user = found
    user.session_token = token
    g.user_session = row
    return user


def current_session() -> UserSession | None:
    """The session this request is logged in with, if any."""
    if not (has_request_context() and current_user.is_authenticated):
        return None
    return g.get("user_session")


def open_session(
    user: User, client_address: str | None = None, user_agent: str | None = None
) -> tuple[UserSession, str]:
    """Add a new session row for `user` (the caller commits); returns (row, cookie token)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = clock.utcnow()
    row = UserSession(
        public_id=secrets.token_urlsafe(16),
        token_hash=_hash(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        client_address=_printable(client_address, 64),
        user_agent=_printable(user_agent, 512),
    )
    db.session.add(row)
    return row, token


def _printable(text: str | None, length: int) -> str | None:
    # Headers are the client's to choose: PostgreSQL refuses NUL, and columns have a size.
    if not text:
        return None
    return "".join(c for c in text if c.isprintable())[:length] or None


def start_session(user: User) -> None:
    """Log in on a brand-new session: nothing from before the log-in survives it (no
    fixation), and the session this browser had, if any, ends."""
    _revoke(current_session())
    session.clear()
    row, token = open_session(user, request.remote_addr, request.headers.get("User-Agent"))
    db.session.commit()
    user.session_token = token
    g.user_session = row
    login_user(user)


def renew_session(user: User) -> None:
    """Give this request's session a new id and carry on: a copy of the cookie taken before
    (a password change, say) is no session any more."""
    row = current_session()
    if row is None:
        return
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row.token_hash = _hash(token)
    db.session.commit()
    user.session_token = token
    login_user(user)


def end_session() -> None:
    """End the session this request carries (log-out)."""
    row = current_session()
    if row is not None:
        _revoke(row)
        db.session.commit()


@user_logged_out.connect
def _on_logout(_app, user=None, **_extra) -> None:
    # Every logout_user() ends the session on the server, not only in this browser.
    end_session()


def end_other_sessions(user: User) -> int:
    """Revoke every session of `user` but the one this request carries (the caller commits).
    From a reset, which is logged out or someone else's session, that is all of them."""
    mine = UserSession.user_id == user.id
    here = current_session()
    if here is not None and here.user_id == user.id:
        return _revoke_where(mine, UserSession.id != here.id)
    return _revoke_where(mine)


def log_out_other_sessions(user: User) -> int:
    """The account page's "log out all other sessions"; returns how many ended."""
    ended = end_other_sessions(user)
    db.session.commit()
    return ended


def end_all_sessions(user: User) -> int:
    """Revoke every session of `user`, this request's included (the caller commits)."""
    return _revoke_where(UserSession.user_id == user.id)


def end_session_of(user: User, public_id: str) -> bool:
    """Revoke `user`'s live session named `public_id`; False when there is none (a revoked,
    expired or someone else's session is the same as none)."""
    row = db.session.scalar(
        select(UserSession).where(
            UserSession.public_id == public_id, UserSession.user_id == user.id
        )
    )
    if row is None or not _is_live(row, clock.utcnow()):
        return False
    _revoke(row)
    db.session.commit()
    return True


def _revoke(row: UserSession | None) -> None:
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.utcnow()


def _revoke_where(*conditions) -> int:
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.revoked_at.is_(None), *conditions)
        .values(revoked_at=clock.utcnow())
    )
    return result.rowcount


def active_sessions(user: User) -> list[ActiveSession]:
    """`user`'s live sessions, the most recently used first."""
    now, here = clock.utcnow(), current_session()
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return [
        ActiveSession(
            public_id=row.public_id,
            browser=describe(row.user_agent),
            client_address=row.client_address,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            is_current=here is not None and row.id == here.id,
        )
        for row in rows
        if _is_live(row, now)
    ]


def note_activity() -> None:
    """Run before each view: load the session (so the view sees a checked user) and move
    its last_seen_at, at most once a minute. Nothing of the view is in the database
    session yet, so this commit carries only the touch."""
    if request.endpoint == "static":
        return
    row = current_session()
    now = clock.utcnow()
    if row is None or now - row.last_seen_at < TOUCH_EVERY:
        return
    row.last_seen_at = now
    try:
        db.session.commit()
    except OperationalError:
        # A busy database must not refuse the request: the next one tries again.
        db.session.rollback()


def note_login(user: User) -> None:
    user.last_login_at = clock.utcnow()


def purge_sessions(batch: int = PURGE_BATCH) -> int:
    """Delete revoked and expired sessions, `batch` rows per transaction (short locks);
    returns how many went."""
    idle, longest = _lifetimes()
    now = clock.utcnow()
    dead = or_(
        UserSession.revoked_at.is_not(None),
        UserSession.last_seen_at < now - idle,
        UserSession.created_at < now - longest,
    )
    deleted = 0
    while True:
        ids = db.session.scalars(select(UserSession.id).where(dead).limit(batch)).all()
        if not ids:
            return deleted
        db.session.execute(delete(UserSession).where(UserSession.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)
