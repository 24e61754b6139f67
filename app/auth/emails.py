"""The account emails: one wrapper per message, each queued in the caller's transaction.

Anything a stranger's form can trigger is `capped` (MAIL_ACCOUNT_MAILS_PER_HOUR per
address); the password-changed notice is not, because its owner must always hear of it.
"""

from __future__ import annotations

from datetime import timedelta

from app import clock
from app.auth import tokens
from app.mail import link_to, send_email
from app.mail.compose import compose
from app.models import User

# The already-registered notice goes out at most this often per account.
SIGNUP_NOTICE_EVERY = timedelta(days=1)


def _human(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return "1 hour" if hours == 1 else f"{hours} hours"


def send_confirmation_email(user: User) -> bool:
    token = tokens.confirm_token_for(user.email)
    row = send_email(
        user.email,
        "confirm_email",
        capped=True,
        user_email=user.email,
        confirm_url=link_to("auth.confirm", token=token),
        expires_in=_human(tokens.CONFIRM_MAX_AGE),
    )
    return row is not None


def send_already_registered_email(user: User) -> bool:
    """Tell the owner someone tried to sign up with their address (at most once a day)."""
    now = clock.utcnow()
    if user.signup_notice_at and now - user.signup_notice_at < SIGNUP_NOTICE_EVERY:
        return False
    row = send_email(
        user.email,
        "already_registered",
        capped=True,
        user_email=user.email,
        login_url=link_to("auth.login"),
        reset_url=link_to("auth.reset_request"),
    )
    if row is not None:
        user.signup_notice_at = now
    return row is not None


def rehearse(template: str, email: str) -> None:
    """Render `template` for an address with no account and throw it away, so the answer
    to a stranger's form takes about as long whether or not the address is known."""
    compose(
        email,
        template,
        user_email=email,
        confirm_url=link_to("auth.confirm", token=tokens.confirm_token_for(email)),
        reset_url=link_to("auth.reset_password", token=tokens.confirm_token_for(email)),
        expires_in=_human(tokens.RESET_MAX_AGE),
    )


def send_password_reset_email(user: User) -> bool:
    # The mail must never arrive after its link has died: not_after is the link's expiry.
    expires_at = clock.utcnow() + tokens.RESET_MAX_AGE
    token = tokens.reset_token_for(user)
    row = send_email(
        user.email,
        "reset_password",
        capped=True,
        not_after=expires_at,
        user_email=user.email,
        reset_url=link_to("auth.reset_password", token=token),
        expires_in=_human(tokens.RESET_MAX_AGE),
    )
    return row is not None


def send_password_changed_email(user: User) -> None:
    changed_at = clock.utcnow().strftime("%d %B %Y at %H:%M UTC")
    send_email(
        user.email,
        "password_changed",
        user_email=user.email,
        changed_at=changed_at,
        reset_url=link_to("auth.reset_request"),
    )
