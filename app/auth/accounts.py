"""What the account forms do, apart from HTTP: ask for mail, complete a sign-up,
authenticate, reset, change.

The forms a stranger can fill in (sign-up, resend, reset) only record that a mail was asked
for (`mail_requests`): the same work for every address. Everything else leaves its changes
and the mail they cause in one transaction and commits it, so a state change and its email
exist together or not at all.
"""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock, i18n
from app.auth import codes, emails, mail_requests, tokens
from app.auth.addresses import InvalidAddress, normalise_email
from app.auth.passwords import check_password, hash_password
from app.auth.sessions import end_all_sessions, end_other_sessions, note_login
from app.extensions import db
from app.models import User


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def request_signup(email: str) -> None:
    code = codes.issue(codes.SIGNUP, email, tokens.CONFIRM_MAX_AGE)
    mail_requests.record(mail_requests.SIGNUP, email, code_id=code.id)


def request_confirmation_again(email: str) -> None:
    code = codes.issue(codes.SIGNUP, email, tokens.CONFIRM_MAX_AGE)
    mail_requests.record(mail_requests.RESEND, email, code_id=code.id)


def request_reset(email: str) -> None:
    code = codes.issue(codes.RESET, email, tokens.RESET_MAX_AGE)
    mail_requests.record(mail_requests.RESET, email, code_id=code.id)


def link_for_code(purpose: str, typed: str) -> tuple[str, str | None]:
    """Check a code typed on the page that asked for it: (outcome, the page its link opens
    when it is right). The link is made fresh: the code stands in for the emailed one."""
    outcome, row = codes.check(purpose, typed, _binding_now)
    if outcome != codes.OK:
        return outcome, None
    if purpose == codes.SIGNUP:
        return outcome, url_for("auth.confirm", token=tokens.confirm_token_for(row.address))
    user = find_user(row.address)
    return outcome, url_for("auth.reset_password", token=tokens.reset_token_for(user))


def _binding_now(row: codes.EmailCode) -> str | None:
    """What a code's link would be bound to now (None once that link has died)."""
    if row.purpose == codes.SIGNUP:
        return codes.SIGNUP_BINDING if can_complete_signup(row.address) else None
    user = find_user(row.address)
    return tokens.fingerprint(user) if user is not None else None


def can_complete_signup(email: str) -> bool:
    """A sign-up link works until the address has a confirmed account: using it once is
    what kills it."""
    user = find_user(email)
    return user is None or not user.is_confirmed


def complete_signup(email: str, password: str) -> User | None:
    """Create the account from the emailed link (the link proved the mailbox); None when
    the address already has a confirmed account (the link was used, or raced)."""
    user = find_user(email)
    if user is not None and user.is_confirmed:
        return None
    if user is None:
        user = User(email=email)
        db.session.add(user)
    else:
        # Made before sign-up was email-first, never confirmed: whoever chose its password
        # then may not have owned the mailbox, so that password and its sessions go.
        end_all_sessions(user)
    user.password_hash = hash_password(password)
    user.confirmed_at = clock.utcnow()
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same link posted twice at once: one of them wins
        return None
    return user


def authenticate(typed_email: str, password: str) -> User | None:
    """The user if the address has a confirmed account and the password matches. The same
    hashing work is done for a malformed, unknown or unconfirmed address, and the answer is
    the same: an unconfirmed account's password may have been chosen by a stranger."""
    try:
        user = find_user(normalise_email(typed_email))
    except InvalidAddress:
        user = None
    if not check_password(user.password_hash if user else None, password):
        return None
    return user if user.is_confirmed else None


def record_login(user: User) -> None:
    note_login(user)
    db.session.commit()


def reset_password(user: User, new_password: str) -> None:
    """Set the password from a reset link; the link itself proves the address, so an
    unconfirmed account becomes confirmed. Every session ends, this browser's too: a
    reset never logs anyone in."""
    _set_password(user, new_password)
    end_all_sessions(user)
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


def choose_language(user: User, language: str | None) -> None:
    """Save the language pages and emails use for `user`; None follows the browser's."""
    user.locale = i18n.supported(language)
    db.session.commit()
