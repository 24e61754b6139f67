"""Tokens from Microsoft identity (Entra ID) through MSAL: app-only or delegated.

App-only (client credentials, a client secret or certificate) is what Microsoft
recommends for a service sending as a mailbox; delegated renews a user's refresh
token. MSAL reads the authority's OpenID configuration the first time a token is asked for.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import msal
import requests

from app.mail.oauth2.errors import REFUSED, TokenError, network_failure, refused
from app.mail.oauth2.http import TokenEndpointSession
from app.mail.oauth2.settings import OAuth2Settings

_PEM_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.S
)


class MicrosoftGrant:
    """`grant()` asks the token endpoint for a new access token and returns its response."""

    def __init__(self, settings: OAuth2Settings):
        self.settings = settings
        self._application: msal.ClientApplication | None = None
        # Microsoft rotates refresh tokens: each answer carries the one to use next.
        self._refresh_token = settings.refresh_token
        self._lock = threading.Lock()

    def __call__(self) -> dict:
        s = self.settings
        with self._lock:
            try:
                app = self._app()
                if self._refresh_token:
                    result = app.acquire_token_by_refresh_token(self._refresh_token, [s.scope])
                else:
                    # MSAL answers from its own cache while a token lasts; the caller decides
                    # when a new one is due (before expiry, or after a server refused it).
                    app.remove_tokens_for_client()
                    result = app.acquire_token_for_client([s.scope])
            except requests.RequestException as exc:
                raise network_failure(exc, s.endpoint, s.timeout) from exc
            except ValueError as exc:
                # MSAL's word for an authority whose OpenID configuration it could not read
                # (an unknown tenant answers 400 there).
                raise refused(s.endpoint, "unknown authority or tenant", None) from exc
            if "access_token" not in result:
                raise refused(
                    s.endpoint,
                    result.get("error") or "no access token",
                    result.get("error_description"),
                    s.secrets,
                )
            self._refresh_token = result.get("refresh_token") or self._refresh_token
            return result

    def _app(self) -> msal.ClientApplication:
        if self._application is None:
            self._application = self._build()
        return self._application

    def _build(self) -> msal.ClientApplication:
        s = self.settings
        http = TokenEndpointSession(s.timeout, s.ca_file)
        common = {
            "authority": s.endpoint,
            "http_client": http,
            # The authority is named in the settings: no extra call to Microsoft to ask
            # whether it is a known one (and a test's own endpoint works the same way).
            "instance_discovery": False,
        }
        credential = _credential(s)
        if credential is None:
            # A delegated refresh token of a public client (no secret of its own).
            return msal.PublicClientApplication(s.client_id, **common)
        return msal.ConfidentialClientApplication(s.client_id, credential, **common)


def _credential(s: OAuth2Settings):
    if s.certificate_file:
        path = Path(s.certificate_file)
        if path.suffix.lower() in (".pfx", ".p12"):
            return {"private_key_pfx_path": str(path)}
        pem = path.read_text()
        key = _PEM_KEY.search(pem)
        if key is None:
            raise TokenError(REFUSED, f"{path.name} holds no private key (PEM)")
        # With public_certificate MSAL computes the SHA-256 thumbprint Entra expects.
        return {"private_key": key.group(0), "public_certificate": pem}
    return s.client_secret
