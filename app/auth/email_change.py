"""Change of address: asked for with the current password, confirmed from the new mailbox,
undone from the old one for 7 days.

The address changes only when the link sent to the new address is followed and its button
pressed (a POST). The old address is told when the change is asked for and again when it is
done; that second notice carries an undo link which gives the address back, ends every
session and makes the owner choose a new password (whoever changed it may know the old one).
"""

from __future__ import annotations

import secrets

from flask import url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth import codes, emails, mail_requests, tokens
from app.auth.passwords import hash_password
from app.auth.sessions import end_all_sessions
from app.extensions import db
from app.models import User


def request_change(user: User, new_email: str) -> None:
    """Record the request; the senders decide what goes where (the same work whether or
    not another account has the new address)."""
    code = codes.issue(codes.CHANGE_EMAIL, new_email, tokens.CHANGE_EMAIL_MAX_AGE)
    mail_requests.record(mail_requests.CHANGE_EMAIL, new_email, user_id=user.id, code_id=code.id)


def link_for_code(user: User, typed: str) -> tuple[str, str | None]:
    """Check the code typed by `user`: (outcome, the confirm page to open when right)."""
    outcome, row = codes.check(codes.CHANGE_EMAIL, typed, lambda _row: tokens.fingerprint(user))
    if outcome != codes.OK:
        return outcome, None
    token = tokens.change_token_for(user, row.address)
    return outcome, url_for("email_change.confirm", token=token)


def address_is_free(user: User, new_email: str) -> bool:
    owner = db.session.scalar(select(User.id).where(User.email == new_email))
    return owner is None or owner == user.id


def confirm_change(user: User, new_email: str) -> bool:
    """Move the account to `new_email`; False if the address was taken meanwhile."""
    if not address_is_free(user, new_email):
        return False
    old_email = user.email
    user.email = new_email
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    emails.send_email_changed_notice(user, old_email)
    db.session.commit()
    return True


def undo_change(user: User, old_email: str) -> bool:
    """Give the account its old address back, end every session and retire the password;
    False if another account has taken the old address since."""
    if not address_is_free(user, old_email):
        return False
    user.email = old_email
    # Whoever changed the address may know the password: only a new one, chosen through
    # the reset link the undo page leads to, opens the account again.
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    end_all_sessions(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True
