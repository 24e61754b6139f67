"""Languages: which one a page speaks, and which one an email is written in.

A page follows the user's saved choice, else a visitor's choice (a cookie, set from the
switch at the foot of the pages), else the browser's Accept-Language, else English.
An email follows its recipient: their saved choice, else the language of the request that
caused it (remembered on the request row for mail a sender writes later), else English.
Catalogues live in translations/ (pybabel: `make translations-update`, `make translations`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import has_request_context, request
from flask_babel import force_locale, format_datetime, format_timedelta, get_locale
from flask_login import current_user

# The first is the default. Adding one: see "Adding a language" in README.md.
LANGUAGES = ("en", "de")
# Each language in its own words, for the account page's choice.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}
DEFAULT = LANGUAGES[0]
# A visitor's choice, kept by the browser: there is no account to save it on yet.
COOKIE = "mailroom_language"
COOKIE_MAX_AGE = 365 * 24 * 3600


def supported(code: str | None) -> str | None:
    """`code` if Mailroom speaks it, else None (a stored value from an older release, say)."""
    return code if code in LANGUAGES else None


def select_locale() -> str:
    """Flask-Babel's locale selector for pages (and for mail written inside a request)."""
    if not has_request_context():
        return DEFAULT
    chosen = _saved_choice() or supported(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def _saved_choice() -> str | None:
    # current_user loads the session: only ask once a user loader can answer.
    try:
        user = current_user._get_current_object()
    except Exception:  # noqa: BLE001 - no login manager yet (an error page very early on)
        return None
    if user is not None and user.is_authenticated:
        return supported(getattr(user, "locale", None))
    return None


def current() -> str:
    """The language of the page being served (or the default outside a request)."""
    locale = get_locale()
    return supported(locale.language if locale else None) or DEFAULT


def for_recipient(saved: str | None, requested: str | None = None) -> str:
    """The language of an email: the recipient's saved choice, else the language the mail was
    asked for in, else the page's (inside a request), else English."""
    return supported(saved) or supported(requested) or current()


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Render (gettext, dates) in `language` for the duration of the block."""
    with force_locale(supported(language) or DEFAULT):
        yield


def duration(value):
    """A link's lifetime in words of the current language ("1 hour", "2 Tage"); any other
    value passes through unchanged (a preview's sample data chains both filters)."""
    if isinstance(value, timedelta):
        return format_timedelta(value, threshold=1)
    return value


def when(value):
    """A moment as the current language writes it, with its time zone (UTC) said; any other
    value passes through unchanged."""
    if isinstance(value, datetime):
        return format_datetime(value, "long")
    return value


def init_app(app) -> None:
    app.add_template_filter(duration)
    app.add_template_filter(when)
    app.jinja_env.globals["current_language"] = current
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES
