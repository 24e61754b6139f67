"""Error pages: what happened, in words, for every status; never a stack trace.

Each status has a heading that says what happened ("Page not found") and a sentence on
what to do; the code itself is shown small. A description our own code passed to abort()
replaces the sentence. A rate limit says how long to wait: the real wait, read from the
limits that were hit (app/rate_wait.py), on the page and in Retry-After.
"""

from __future__ import annotations

from flask import Flask, Response, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.rate_wait import seconds_to_wait, wait_in_words

# status: (what happened, what to do)
# Lazy: each page is worded in the language of the request it answers.
PAGES = {
    400: (_l("This request was not understood"), _l("Go back and try again.")),
    403: (
        _l("You can't open this page"),
        _l("This page needs rights your account does not have."),
    ),
    404: (_l("Page not found"), _l("There is no page here. The link may be old or mistyped.")),
    405: (_l("This page can't be used that way"), _l("Go back and use its links or buttons.")),
    413: (
        _l("Too much to send"),
        _l("What you sent is too large for the forms on this site. Go back and try again."),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l("It was not something you did. Try again soon."),
    ),
}
FALLBACK = (_l("Something went wrong"), _l("Go back and try again."))
ADMINS_ONLY = (_l("Only admins can open this page"), _l("This page is for admins."))
FORM_EXPIRED = (
    _l("This form has expired"),
    _l("Your form expired or came from another site. Go back, reload and try again."),
)
TOO_MANY = _l("Too many tries")


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        return _page(400, *FORM_EXPIRED)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded) -> Response:
        seconds = seconds_to_wait(error)
        wait = wait_in_words(seconds)
        message = _(
            "You have tried this too often in a short time. Wait %(wait)s, then try again.",
            wait=wait,
        )
        response = _page(429, TOO_MANY, message)
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return _page(error.code or 500, *words_for(error))


def words_for(error: HTTPException) -> tuple[str, str]:
    """The heading and the sentence a person reads on the error page."""
    if error.code == 403 and request.blueprint == "admin":
        title, message = ADMINS_ONLY
    else:
        title, message = PAGES.get(error.code, FALLBACK)
    if _is_ours(error):
        message = error.description
    return title, message


def _page(code: int, title: str, message: str) -> Response:
    html = render_template("error.html", code=code, title=title, message=message)
    return make_response(html, code)


def _is_ours(error: HTTPException) -> bool:
    # abort(code) without a text keeps the class's stock description; abort(code, "...")
    # replaces it.
    return bool(error.description) and error.description != type(error).description
