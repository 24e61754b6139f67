"""Security headers on every response, cookie flags for production, and (from
`request_limits`) the cap on request bodies: the defences every request passes.

Views may set their own value for any of these headers (an admin preview that must be
framed by its own page, say); the defaults here only fill what a view left unset.
"""

from __future__ import annotations

from flask import Flask, Response

from app import request_limits

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# same-origin, not no-referrer: Flask-WTF over HTTPS refuses a POST without a same-origin
# Referer, and other sites still never see a URL (a reset token sits in one).
REFERRER_POLICY = "same-origin"
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    request_limits.init_app(app)
    production = app.config["APP_ENV"] == "production"
    # HttpOnly and SameSite cost nothing over plain HTTP; Secure would break a local http dev run.
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    if production:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        if production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
