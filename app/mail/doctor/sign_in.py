"""The doctor's sign-in steps: the OAuth2 token (MAIL_AUTH=xoauth2) and SMTP AUTH.

The token step shows the endpoint reached, the token's audience and expiry, never the
token. AUTH uses the password, or the token over XOAUTH2; a refusal gets the provider's
hint when the reply is a known one (provider_replies.py).
"""

from __future__ import annotations

import smtplib

from flask_babel import gettext as _

from app import clock
from app.mail import hints, provider_replies, token_hints
from app.mail.doctor.report import StepFailed, StepSkipped, decode, describe
from app.mail.oauth2 import AccessToken, TokenError, TokenSource, xoauth2
from app.mail.oauth2.errors import host_of
from app.mail.oauth2.settings import GOOGLE

PROVIDER_NAMES = {GOOGLE: "Google"}


class SignInSteps:
    """Mixed into SmtpDiagnosis: needs its settings, smtp, tokens and _hint."""

    token: AccessToken | None = None

    def _token(self):
        source: TokenSource = self.tokens
        o = source.settings
        endpoint = host_of(o.endpoint)
        try:
            self.token = source.current()
        except TokenError as exc:
            raise StepFailed(token_hints.for_token_error(exc, endpoint), exc.reason) from exc
        provider = PROVIDER_NAMES.get(o.provider, "Microsoft identity")
        user = o.username or _("(MAIL_USERNAME not set)")
        return "", [
            _(
                "Token endpoint %(endpoint)s answered (%(provider)s, %(grant)s)",
                endpoint=endpoint,
                provider=provider,
                grant=o.grant,
            ),
            _("Token obtained for %(user)s: %(about)s", user=user, about=_about(self.token)),
            _expiry(self.token),
        ]

    def _auth(self):
        s = self.settings
        if self.xoauth2:
            return self._auth_xoauth2()
        if not s.username and not s.password:
            raise StepSkipped(_("Not tried: MAIL_USERNAME and MAIL_PASSWORD are not set."))
        if not (s.username and s.password):
            missing = "MAIL_PASSWORD" if s.username else "MAIL_USERNAME"
            raise StepFailed(
                _(
                    "%(setting)s is not set: set both MAIL_USERNAME and MAIL_PASSWORD.",
                    setting=missing,
                )
            )
        self._require_auth_offered()
        try:
            code, text = self.smtp.login(s.username, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise StepFailed(self._auth_hint(exc), describe(exc)) from exc
        except smtplib.SMTPException as exc:
            raise StepFailed(self._hint(hints.AUTH_FAILED), describe(exc)) from exc
        return f"{code} {decode(text)}", [
            _("Logged in as %(user)s (password: set)", user=s.username)
        ]

    def _auth_xoauth2(self):
        user = self.settings.username
        if not user:
            raise StepFailed(_("MAIL_USERNAME is not set: set it to the mailbox address."))
        self._require_auth_offered()
        if not xoauth2.offered(self.smtp):
            offers = self.smtp.esmtp_features.get("auth", "").strip()
            raise StepFailed(self._hint(hints.NO_XOAUTH2), f"AUTH offers {offers}")
        try:
            code, text = xoauth2.authenticate(self.smtp, user, self.token.value)
        except xoauth2.TokenRefused as exc:
            details = (
                [_("The server's error: %(words)s", words=exc.challenge_words)]
                if exc.challenge
                else []
            )
            raise StepFailed(self._auth_hint(exc), describe(exc), details) from exc
        return f"{code} {decode(text)}", [
            _("Signed in as %(user)s with an OAuth2 token (XOAUTH2)", user=user)
        ]

    def _require_auth_offered(self) -> None:
        s = self.settings
        if self.smtp.has_extn("auth"):
            return
        encrypted = s.use_tls or s.use_ssl
        offered_later = not encrypted and self.smtp.has_extn("starttls")
        template = hints.AUTH_AFTER_STARTTLS if offered_later else hints.NO_AUTH
        raise StepFailed(self._hint(template), "AUTH is not offered")

    def _auth_hint(self, exc: smtplib.SMTPResponseException) -> str:
        text = decode(exc.smtp_error)
        known = provider_replies.recognise(exc.smtp_code, text, xoauth2=self.xoauth2)
        if known is not None:
            return self._hint(known.hint, code=provider_replies.codes_of(exc.smtp_code, text))
        if exc.smtp_code == 535:
            return self._hint(hints.CREDENTIALS_REJECTED)
        code = exc.smtp_code
        return self._hint(hints.for_reply(code, "auth") if code == 530 else hints.AUTH_FAILED)


def _about(token: AccessToken) -> str:
    if token.audience:
        return _("audience %(audience)s", audience=token.audience)
    return _("scope %(scope)s", scope=token.scope) if token.scope else _("an opaque token")


def _expiry(token: AccessToken) -> str:
    minutes = int((token.expires_at - clock.utcnow()).total_seconds() // 60)
    return _(
        "Expires %(when)s (in %(minutes)s min); renewed before",
        when=token.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        minutes=minutes,
    )
