"""Signing in on a fresh SMTP connection: a password, or an OAuth2 token over XOAUTH2.

The transport calls `sign_in` after STARTTLS. A server that refuses a token gets one
renewed token and one more try; a second refusal, a token endpoint that gives none, or a
refused password is a failed sign-in, recorded in the deployment-wide gate
(sign_in_gate.py) so that no sender anywhere tries again before the next backoff step.
"""

from __future__ import annotations

import logging
import smtplib
import time

from flask import current_app

from app.mail import sign_in_gate
from app.mail.oauth2 import TokenError, token_source, xoauth2

log = logging.getLogger("mailroom.mail")
# How often a sender looks whether another sender's first sign-in has succeeded.
FIRST_TRY_POLL = 0.05


class SignInProblem(Exception):
    """No sign-in happened: `error_class` and `reason` say why, in words an admin can use."""

    def __init__(self, error_class: str, reason: str, failed_try: bool = False):
        super().__init__(reason)
        self.error_class, self.reason = error_class, reason
        # A try the gate counts (the token endpoint refused or is down); a setting the server
        # lacks (no XOAUTH2) or a wait for the gate is not one.
        self.failed_try = failed_try


def sign_in(host: smtplib.SMTP, settings, use_xoauth2: bool) -> None:
    """Sign in on `host` as `settings.username`, or do nothing when no sign-in is set."""
    if not settings.username or not (use_xoauth2 or settings.password):
        return
    config = current_app.config
    key = f"{settings.relay} {settings.username}"
    verdict = _admitted(key, settings.timeout)
    if not verdict.admitted:
        raise _held(verdict)
    try:
        if use_xoauth2:
            _with_token(host, settings.username)
        else:
            _with_password(host, settings.username, settings.password)
    except (smtplib.SMTPAuthenticationError, SignInProblem) as exc:
        if isinstance(exc, SignInProblem) and not exc.failed_try:
            sign_in_gate.release(key)
            raise
        reason = _words(exc)
        wait = sign_in_gate.refused(key, reason, config["MAIL_TRANSPORT_BACKOFF_MAX"])
        log.warning(
            "mail sign-in to %s refused: %s; next try in %.0fs", settings.relay, reason, wait
        )
        raise
    except BaseException:
        if not verdict.proven:
            sign_in_gate.release(key)
        raise
    if not verdict.proven:
        sign_in_gate.passed(key)


def _admitted(key: str, timeout: float) -> sign_in_gate.Verdict:
    """The gate's verdict. While another sender makes the first try (no failure yet), wait
    for its outcome rather than count the wait as a failure: at a deployment's start every
    sender signs in at once, and all but one would otherwise report a failing transport."""
    deadline = time.monotonic() + timeout
    while True:
        verdict = sign_in_gate.admit(key, hold=4 * timeout)
        if verdict.admitted or verdict.failures or time.monotonic() > deadline:
            return verdict
        time.sleep(FIRST_TRY_POLL)


def _with_password(host: smtplib.SMTP, user: str, password: str) -> None:
    """One AUTH command: smtplib's login() tries each mechanism the server offers in turn, so
    a wrong password would count as two or three failures at the server (and at fail2ban)."""
    host.ehlo_or_helo_if_needed()
    offered = host.esmtp_features.get("auth", "").upper().split()
    mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
    if mechanism is None:
        host.login(user, password)  # CRAM-MD5 only, or no AUTH: smtplib says which
        return
    host.user, host.password = user, password
    host.auth(mechanism, getattr(host, f"auth_{mechanism.lower()}"))


def _with_token(host: smtplib.SMTP, user: str) -> None:
    host.ehlo_or_helo_if_needed()
    if not xoauth2.offered(host):
        raise SignInProblem("auth", "the server does not offer AUTH XOAUTH2")
    tokens = token_source(current_app)
    try:
        token = tokens.current()
        try:
            xoauth2.authenticate(host, user, token.value)
        except xoauth2.TokenRefused:
            # Revoked, or expired earlier than it said: one new token, one more try.
            log.info("mail sign-in: the server refused the token; renewing it once")
            xoauth2.authenticate(host, user, tokens.renew(token).value)
    except TokenError as exc:
        raise SignInProblem("token", exc.reason, failed_try=True) from exc


def _held(verdict: sign_in_gate.Verdict) -> SignInProblem:
    if verdict.failures:
        return SignInProblem(
            "auth",
            f"sign-in refused {verdict.failures} time(s), last: {verdict.reason}; "
            "every sender waits for the next try",
        )
    return SignInProblem("auth-wait", "waiting while another sender signs in")


def _words(exc: BaseException) -> str:
    if isinstance(exc, SignInProblem):
        return exc.reason
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    words = f"authentication refused: {exc.smtp_code} {text}".strip()
    if isinstance(exc, xoauth2.TokenRefused) and exc.challenge:
        words += f" ({exc.challenge_words})"
    return words
