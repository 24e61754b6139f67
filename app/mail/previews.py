"""Email previews: sample data for every template, rendered by the real composer.

Each template in templates/email/ (except the `_layout` shells) needs an entry in
SAMPLES, with the same context its sender passes (lifetimes as timedeltas, moments as
datetimes, so they show formatted in the preview's language); a test fails for any without.
Nothing here is queued or sent. Previews speak the language of the page showing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from flask import current_app

from app.mail.compose import ComposedMail, compose, link_to

SAMPLE_ADDRESS = "ada.lovelace@example.com"
# Looks like a token, works as none: a preview must never carry a live link.
SAMPLE_TOKEN = "preview-sample-token-not-valid"  # noqa: S105 - not a secret
SAMPLE_CODE = "ABCD-EFGH"
# Naive UTC, as clock.utcnow() gives: the template formats it in the reader's language.
SAMPLE_MOMENT = datetime(2026, 11, 21, 8, 40)
# The lifetimes are app.auth.tokens' own, written out: mail/ sits below auth/ and imports
# nothing from it.


def _confirm_email() -> dict:
    return {
        "user_email": SAMPLE_ADDRESS,
        "confirm_url": link_to("auth.confirm", token=SAMPLE_TOKEN),
        "expires_in": timedelta(hours=48),
        "code": SAMPLE_CODE,
    }


def _already_registered() -> dict:
    return {
        "user_email": SAMPLE_ADDRESS,
        "login_url": link_to("auth.login"),
        "reset_url": link_to("auth.reset_request"),
    }


def _reset_password() -> dict:
    return {
        "user_email": SAMPLE_ADDRESS,
        "reset_url": link_to("auth.reset_password", token=SAMPLE_TOKEN),
        "expires_in": timedelta(hours=1),
        "code": SAMPLE_CODE,
    }


def _password_changed() -> dict:
    return {
        "user_email": SAMPLE_ADDRESS,
        "changed_at": SAMPLE_MOMENT,
        "reset_url": link_to("auth.reset_request"),
    }


def _change_email() -> dict:
    return {
        "user_email": "ada@new.example.com",
        "confirm_url": link_to("email_change.confirm", token=SAMPLE_TOKEN),
        "expires_in": timedelta(hours=24),
        "code": SAMPLE_CODE,
    }


def _address_in_use() -> dict:
    return {"user_email": SAMPLE_ADDRESS, "reset_url": link_to("auth.reset_request")}


def _email_change_requested() -> dict:
    return {
        "user_email": SAMPLE_ADDRESS,
        "new_email_masked": "a***@new.example.com",
        "reset_url": link_to("auth.reset_request"),
    }


def _email_changed() -> dict:
    return {
        "user_email": SAMPLE_ADDRESS,
        "new_email_masked": "a***@new.example.com",
        "undo_url": link_to("email_change.undo", token=SAMPLE_TOKEN),
        "undo_in": timedelta(days=7),
    }


SAMPLES: dict[str, Callable[[], dict]] = {
    "confirm_email": _confirm_email,
    "already_registered": _already_registered,
    "reset_password": _reset_password,
    "password_changed": _password_changed,
    "change_email": _change_email,
    "address_in_use": _address_in_use,
    "email_change_requested": _email_change_requested,
    "email_changed": _email_changed,
    "test_email": dict,
}


@dataclass(frozen=True)
class Preview:
    name: str
    context: dict
    mail: ComposedMail

    @property
    def size(self) -> int:
        return len(self.mail.mime)

    @property
    def source(self) -> str:
        return self.mail.mime.decode("utf-8", "replace")


def template_names() -> list[str]:
    """Every email template the app can send: the stems of templates/email/*.txt|html."""
    names = set()
    for path in current_app.jinja_env.list_templates(extensions=["txt", "html"]):
        parts = PurePosixPath(path)
        if parts.parent.as_posix() == "email" and not parts.stem.startswith("_"):
            names.add(parts.stem)
    return sorted(names)


def missing_samples() -> list[str]:
    return [name for name in template_names() if name not in SAMPLES]


def render_preview(name: str) -> Preview:
    """Compose `name` with its sample data; KeyError when it has none."""
    context = SAMPLES[name]()
    return Preview(name, context, compose(SAMPLE_ADDRESS, name, **context))
