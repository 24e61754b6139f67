"""One access token per process, shared by every sender thread, renewed before it expires.

`current()` answers from the cache while the token has time left; the first thread
that finds it due renews it while the others wait for that one answer (one request to
the token endpoint per renewal). `renew(refused)` replaces a token a server refused,
unless another thread already did.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app import clock
from app.mail import events
from app.mail.oauth2.settings import GOOGLE, OAuth2Settings

# Renew this long before expiry (or at half the lifetime of a shorter-lived token): a
# message in hand never meets a token that expires while it is being sent.
RENEW_BEFORE = timedelta(minutes=5)
# An answer without expires_in: OAuth2 leaves it optional; an hour is what both issue.
DEFAULT_LIFETIME = 3600


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    obtained_at: datetime
    expires_at: datetime
    scope: str = ""

    def due(self, now: datetime) -> bool:
        margin = min(RENEW_BEFORE, (self.expires_at - self.obtained_at) / 2)
        return now >= self.expires_at - margin

    @property
    def audience(self) -> str | None:
        """Who the token is for, when it is a JWT (Microsoft's are; Google's are opaque).
        Read without checking the signature: it is shown, never trusted."""
        import jwt  # here: PyJWT (and cryptography) only where a token is shown

        try:
            claims = jwt.decode(self.value, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        audience = claims.get("aud")
        return ", ".join(audience) if isinstance(audience, list) else audience


def grant_for(settings: OAuth2Settings) -> Callable[[], dict]:
    # Imported here: MSAL and Authlib load only in a process that signs in with a token.
    if settings.provider == GOOGLE:
        from app.mail.oauth2.google import GoogleGrant

        return GoogleGrant(settings)
    from app.mail.oauth2.microsoft import MicrosoftGrant

    return MicrosoftGrant(settings)


class TokenSource:
    def __init__(self, settings: OAuth2Settings, grant: Callable[[], dict] | None = None):
        self.settings = settings
        self._grant = grant or grant_for(settings)
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self.pid = os.getpid()
        # Requests made to the token endpoint: shown by the doctor, counted by tests.
        self.requests = 0

    def current(self) -> AccessToken:
        """The cached token, or a new one when it is missing or due. Raises TokenError."""
        token = self._token
        if token is not None and not token.due(clock.utcnow()):
            return token
        with self._lock:
            token = self._token
            if token is None or token.due(clock.utcnow()):
                token = self._renew()
            return token

    def renew(self, refused: AccessToken) -> AccessToken:
        """A server refused `refused`: a new token, unless another thread has got one since."""
        with self._lock:
            token = self._token
            if token is not None and token.value != refused.value and not token.due(clock.utcnow()):
                return token
            return self._renew()

    def _renew(self) -> AccessToken:
        self.requests += 1
        try:
            answer = self._grant()
        except Exception:
            events.notify("token_renewal", outcome="failed")
            raise
        events.notify("token_renewal", outcome="renewed")
        now = clock.utcnow()
        lifetime = int(answer.get("expires_in") or DEFAULT_LIFETIME)
        self._token = AccessToken(
            value=answer["access_token"],
            obtained_at=now,
            expires_at=now + timedelta(seconds=lifetime),
            scope=str(answer.get("scope") or ""),
        )
        return self._token


_sources_lock = threading.Lock()


def _new_lock_in_child() -> None:
    global _sources_lock
    _sources_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)


def token_source(app) -> TokenSource:
    """The process's TokenSource for `app` (made on first use; a forked child makes its own,
    so a lock held in the parent at the fork cannot stall it)."""
    with _sources_lock:
        source = app.extensions.get("mailroom.oauth2")
        if source is None or source.pid != os.getpid():
            source = TokenSource(OAuth2Settings.from_config(app.config))
            app.extensions["mailroom.oauth2"] = source
        return source
