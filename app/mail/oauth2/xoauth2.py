"""SASL XOAUTH2 on an smtplib connection: the bearer token as the initial response.

A server that refuses the token either answers 535 at once (Microsoft) or first sends
a 334 challenge carrying a JSON error (Google), which the client answers with an empty
line before the final refusal. Either way `TokenRefused` says so, with the error.
"""

from __future__ import annotations

import json
import smtplib

MECHANISM = "XOAUTH2"


class TokenRefused(smtplib.SMTPAuthenticationError):
    """The server refused the token; `challenge` is its JSON error, when it sent one."""

    def __init__(self, code: int, text: bytes, challenge: str | None):
        super().__init__(code, text)
        self.challenge = challenge

    @property
    def challenge_words(self) -> str:
        """The 334 error in a few words: `status 401, scope https://mail.google.com/`."""
        if not self.challenge:
            return ""
        try:
            error = json.loads(self.challenge)
        except ValueError:
            return self.challenge[:200]
        if not isinstance(error, dict):
            return self.challenge[:200]
        return ", ".join(f"{key} {value}" for key, value in error.items() if key != "schemes")


class _InitialResponse:
    """smtplib's authobject: called with no challenge for the initial response, then with
    each 334 challenge."""

    def __init__(self, user: str, token: str):
        self.user, self._token = user, token
        self.challenge: str | None = None

    def __call__(self, challenge: bytes | None = None) -> str:
        if challenge is None:
            return f"user={self.user}\x01auth=Bearer {self._token}\x01\x01"
        self.challenge = challenge.decode("utf-8", "replace")
        return ""  # RFC 7628: an empty response asks the server for its final reply


def offered(smtp: smtplib.SMTP) -> bool:
    return MECHANISM in smtp.esmtp_features.get("auth", "").upper().split()


def authenticate(smtp: smtplib.SMTP, user: str, token: str) -> tuple[int, bytes]:
    """AUTH XOAUTH2 with `token` for `user`; raises TokenRefused when the server says no."""
    response = _InitialResponse(user, token)
    try:
        return smtp.auth(MECHANISM, response, initial_response_ok=True)
    except smtplib.SMTPAuthenticationError as exc:
        raise TokenRefused(exc.smtp_code, exc.smtp_error, response.challenge) from None
