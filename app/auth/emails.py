"""The account emails: which one an address gets, and one wrapper per message.

Mail a stranger's form can cause (a sign-up link, the "already registered" notice, a reset
link) is decided by a sender from an `AccountMailRequest`, never in the request, and counts
toward MAIL_ACCOUNT_MAILS_PER_HOUR per address. Past the cap it is recorded as suppressed,
with the reason, so an admin can see what was not sent. Security notices the owner causes
(password changed) are always sent and never count.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from app import clock, i18n
from app.auth import codes, mail_requests, tokens
from app.extensions import db
from app.mail import link_to, send_email
from app.mail.events import mask
from app.mail.models import SUPPRESSED, OutboxMessage
from app.mail.outbox import Enqueued
from app.models import User

# The already-registered notice goes out at most this often per account.
SIGNUP_NOTICE_EVERY = timedelta(days=1)
# What strangers can trigger: the only mail the hourly per-address cap counts.
STRANGER_TEMPLATES = (
    "confirm_email",
    "already_registered",
    "reset_password",
    "change_email",
    "address_in_use",
)


def answer_request(
    kind: str,
    address: str,
    user_id: int | None = None,
    code_id: int | None = None,
    locale: str | None = None,
) -> None:
    """Queue the email this request calls for, if any (in the caller's transaction), in the
    language of the page that asked unless the recipient chose one."""
    user = db.session.scalar(select(User).where(User.email == address))
    if kind == mail_requests.CHANGE_EMAIL:
        _answer_change_of_address(db.session.get(User, user_id), address, user, code_id, locale)
    elif kind in (mail_requests.SIGNUP, mail_requests.RESEND):
        if user is not None and user.is_confirmed:
            send_already_registered_email(user, locale)
        else:
            # No account, or one made before sign-up was email-first and never confirmed:
            # the link lets the mailbox owner choose the password and complete it.
            send_signup_email(address, code_id, locale)
    elif kind == mail_requests.RESET and user is not None:
        send_password_reset_email(user, code_id, locale)


def _answer_change_of_address(
    user: User | None,
    new_email: str,
    owner: User | None,
    code_id: int | None,
    locale: str | None,
) -> None:
    """The link goes to the new address; if another account has it, its owner is told
    instead. The account's own address hears of the request either way, so its owner learns
    nothing from it about the new address."""
    if user is None or new_email == user.email:
        return
    if owner is not None:
        _send_capped(
            owner.email,
            "address_in_use",
            language=i18n.for_recipient(owner.locale, locale),
            user_email=owner.email,
            reset_url=link_to("auth.reset_request"),
        )
    else:
        _send_capped(
            new_email,
            "change_email",
            language=i18n.for_recipient(user.locale, locale),
            code_id=code_id,
            bound_to=tokens.fingerprint(user),
            user_email=new_email,
            confirm_url=link_to(
                "email_change.confirm", token=tokens.change_token_for(user, new_email)
            ),
            expires_in=tokens.CHANGE_EMAIL_MAX_AGE,
        )
    send_email(
        user.email,
        "email_change_requested",
        language=i18n.for_recipient(user.locale, locale),
        user_email=user.email,
        new_email_masked=mask(new_email),
        reset_url=link_to("auth.reset_request"),
    )


def send_email_changed_notice(user: User, old_email: str) -> None:
    """To the old address, once the change is done: with a link that undoes it for 7 days."""
    send_email(
        old_email,
        "email_changed",
        language=i18n.for_recipient(user.locale),
        sensitive=True,
        user_email=old_email,
        new_email_masked=mask(user.email),
        undo_url=link_to("email_change.undo", token=tokens.undo_token_for(user, old_email)),
        undo_in=tokens.UNDO_CHANGE_MAX_AGE,
    )


def _cap_reason(address: str) -> str | None:
    """Why a stranger-triggered email to `address` must not go out now, or None."""
    cap = current_app.config["MAIL_ACCOUNT_MAILS_PER_HOUR"]
    since = clock.utcnow() - timedelta(hours=1)
    sent = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.recipient == address,
            OutboxMessage.created_at >= since,
            OutboxMessage.template.in_(STRANGER_TEMPLATES),
            OutboxMessage.status != SUPPRESSED,
        )
    )
    if sent >= cap:
        return f"not sent: {cap} account emails to this address in the last hour (the cap)"
    return None


def _send_capped(
    to: str, template: str, *, code_id: int | None = None, bound_to: str = "", **kwargs
) -> Enqueued:
    """Queue stranger-triggerable mail (suppressed past the cap). Its emailed code, if the
    browser that asked has one, is armed only when the mail really goes out."""
    reason = _cap_reason(to)
    code = codes.arm(code_id, bound_to) if code_id and not reason else None
    return send_email(to, template, suppress=reason, sensitive=True, code=code, **kwargs)


def send_signup_email(
    address: str, code_id: int | None = None, locale: str | None = None
) -> Enqueued:
    token = tokens.confirm_token_for(address)
    return _send_capped(
        address,
        "confirm_email",
        language=i18n.for_recipient(None, locale),
        code_id=code_id,
        bound_to=codes.SIGNUP_BINDING,
        user_email=address,
        confirm_url=link_to("auth.confirm", token=token),
        expires_in=tokens.CONFIRM_MAX_AGE,
    )


def send_already_registered_email(user: User, locale: str | None = None) -> Enqueued | None:
    """Tell the owner someone tried to sign up with their address (at most once a day)."""
    now = clock.utcnow()
    if user.signup_notice_at and now - user.signup_notice_at < SIGNUP_NOTICE_EVERY:
        return None
    row = _send_capped(
        user.email,
        "already_registered",
        language=i18n.for_recipient(user.locale, locale),
        user_email=user.email,
        login_url=link_to("auth.login"),
        reset_url=link_to("auth.reset_request"),
    )
    if row.status != SUPPRESSED:
        user.signup_notice_at = now
    return row


def send_password_reset_email(
    user: User, code_id: int | None = None, locale: str | None = None
) -> Enqueued:
    # The mail must never arrive after its link has died: not_after is the link's expiry.
    expires_at = clock.utcnow() + tokens.RESET_MAX_AGE
    return _send_capped(
        user.email,
        "reset_password",
        language=i18n.for_recipient(user.locale, locale),
        code_id=code_id,
        bound_to=tokens.fingerprint(user),
        not_after=expires_at,
        user_email=user.email,
        reset_url=link_to("auth.reset_password", token=tokens.reset_token_for(user)),
        expires_in=tokens.RESET_MAX_AGE,
    )


def send_password_changed_email(user: User) -> None:
    send_email(
        user.email,
        "password_changed",
        language=i18n.for_recipient(user.locale),
        user_email=user.email,
        changed_at=clock.utcnow(),
        reset_url=link_to("auth.reset_request"),
    )
