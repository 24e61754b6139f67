"""Error pages: a clear page for every 4xx, never a stack trace.

Werkzeug's stock wording ("read-protected", "requested URL") is replaced by a plain
sentence per status; a description our own code passed to abort() is kept.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

PLAIN = {
    400: "This request could not be understood. Go back and try again.",
    403: "You can't open this page.",
    404: "There is no page here.",
    405: "This page can't be used that way. Go back and use its links or buttons.",
    413: "What you sent is too large for the forms on this site. Go back and try again.",
    429: "Too many requests. Wait a minute, then try again.",
}
FALLBACK = "Something went wrong with this request. Go back and try again."
ADMINS_ONLY = "This page is for admins."


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = "Your form expired or came from another site. Go back, reload and try again."
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        return render_template("error.html", code=code, message=message_for(error)), code


def message_for(error: HTTPException) -> str:
    """The sentence a person reads on the error page."""
    if _is_ours(error):
        return error.description
    if error.code == 403 and request.blueprint == "admin":
        return ADMINS_ONLY
    return PLAIN.get(error.code, FALLBACK)


def _is_ours(error: HTTPException) -> bool:
    # abort(code) without a text keeps the class's stock description; abort(code, "...")
    # replaces it. A rate limit without its own message describes the limit ("3 per 1 minute").
    if isinstance(error, RateLimitExceeded):
        return bool(error.limit.error_message)
    return bool(error.description) and error.description != type(error).description
