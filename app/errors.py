"""Error pages: what happened, in words, for every status; never a stack trace.

Each status has a heading that says what happened ("Page not found") and a sentence on
what to do; the code itself is shown small. A description our own code passed to abort()
replaces the sentence. A rate limit says how long to wait: the real wait, read from the
limits that were hit (app/rate_wait.py), on the page and in Retry-After.
"""

from __future__ import annotations

from flask import Flask, Response, make_response, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.rate_wait import seconds_to_wait, wait_in_words

# status: (what happened, what to do)
PAGES = {
    400: ("This request was not understood", "Go back and try again."),
    403: ("You can't open this page", "This page needs rights your account does not have."),
    404: ("Page not found", "There is no page here. The link may be old or mistyped."),
    405: ("This page can't be used that way", "Go back and use its links or buttons."),
    413: (
        "Too much to send",
        "What you sent is too large for the forms on this site. Go back and try again.",
    ),
    500: ("Something went wrong on our side", "It was not something you did. Try again soon."),
}
FALLBACK = ("Something went wrong", "Go back and try again.")
ADMINS_ONLY = ("Only admins can open this page", "This page is for admins.")
FORM_EXPIRED = (
    "This form has expired",
    "Your form expired or came from another site. Go back, reload and try again.",
)
TOO_MANY = "Too many tries"


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        return _page(400, *FORM_EXPIRED)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded) -> Response:
        seconds = seconds_to_wait(error)
        wait = wait_in_words(seconds)
        message = f"You have tried this too often in a short time. Wait {wait}, then try again."
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
