"""Abuse limits on the account forms: per client, per target address on the mail forms,
and per (client, address) on log-in.

Every key is counted whether or not the address has an account, so the limited answer
(a 429 page) is the same for every address. The per-address cap on account mails
(MAIL_ACCOUNT_MAILS_PER_HOUR, applied by the senders) is the second line: it holds even
across many clients.
"""

from __future__ import annotations

import hashlib

from flask import request
from flask_limiter.util import get_remote_address

from app.auth.addresses import address_key
from app.extensions import limiter

MESSAGE = "Too many attempts. Wait a few minutes, then try again."

# Forms that send mail: a person needs a handful an hour; a script wants thousands.
MAIL_FORM_PER_CLIENT = "10 per minute;50 per hour"
MAIL_FORM_PER_ADDRESS = "5 per minute;20 per hour"
# Log-in: enough for typos, too few for guessing. Never per address alone: failures from
# other clients must not refuse the owner's right password from a client that has not failed
# (ten wrong guesses from ten addresses would lock the owner out). Per (client, address)
# counts only failed log-ins, so the owner's own successes never use it up.
LOGIN_PER_CLIENT = "20 per minute;200 per hour"
LOGIN_FAILURES_PER_CLIENT_AND_ADDRESS = "10 per minute;50 per hour"


def client_key() -> str:
    return f"client:{get_remote_address()}"


def address_key_from_form() -> str:
    # Hashed: the limiter's storage (Redis, say) never holds the addresses themselves.
    digest = hashlib.sha256(address_key(request.form.get("email")).encode()).hexdigest()
    return f"address:{digest[:32]}"


def client_and_address_key() -> str:
    return f"{client_key()}|{address_key_from_form()}"


def _failed_login(response) -> bool:
    # A refused log-in renders its page again (200); a successful one redirects.
    return response.status_code == 200


def _limits(per_client: str, per_address: str):
    by_client = limiter.limit(
        per_client, key_func=client_key, methods=["POST"], error_message=MESSAGE
    )
    by_address = limiter.limit(
        per_address, key_func=address_key_from_form, methods=["POST"], error_message=MESSAGE
    )

    def decorate(view):
        return by_client(by_address(view))

    return decorate


def limit_mail_form(view):
    """Sign-up, resend and reset request."""
    return _limits(MAIL_FORM_PER_CLIENT, MAIL_FORM_PER_ADDRESS)(view)


def limit_login(view):
    by_client = limiter.limit(
        LOGIN_PER_CLIENT, key_func=client_key, methods=["POST"], error_message=MESSAGE
    )
    by_client_and_address = limiter.limit(
        LOGIN_FAILURES_PER_CLIENT_AND_ADDRESS,
        key_func=client_and_address_key,
        methods=["POST"],
        error_message=MESSAGE,
        deduct_when=_failed_login,
    )
    return by_client(by_client_and_address(view))


# Typing an emailed code: each code allows 5 tries; this keeps one client from trying many.
CODE_ENTRY_PER_CLIENT = "10 per minute;60 per hour"


def limit_code_entry(view):
    return limiter.limit(
        CODE_ENTRY_PER_CLIENT, key_func=client_key, methods=["POST"], error_message=MESSAGE
    )(view)
