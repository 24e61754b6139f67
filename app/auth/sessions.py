"""Who is logged in: the user loader that rejects sessions from before a password change,
and log-in that starts a fresh session."""

from __future__ import annotations

from flask import session
from flask_login import login_user

from app import clock
from app.extensions import db, login_manager
from app.models import User

login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to see that page."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """`session_id` is User.get_id(): "id:session_version". A stale version is no session."""
    user_id, _, version = str(session_id).partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        return None
    return user


def start_session(user: User) -> None:
    """Log in on a brand-new session: nothing from before the log-in survives it."""
    session.clear()
    login_user(user)


def end_other_sessions(user: User) -> None:
    """Every session carrying the old version is rejected by `load_user` from now on."""
    user.session_version = (user.session_version or 1) + 1


def note_login(user: User) -> None:
    user.last_login_at = clock.utcnow()
