"""Tokens from Google's OAuth2 endpoint through Authlib: the refresh-token grant.

A refresh token with scope https://mail.google.com/ works for Gmail and Google
Workspace accounts alike; Google's refresh tokens do not rotate.
"""

from __future__ import annotations

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from app.mail.oauth2.errors import network_failure, refused
from app.mail.oauth2.settings import OAuth2Settings


class GoogleGrant:
    """`grant()` renews the access token with the configured refresh token."""

    def __init__(self, settings: OAuth2Settings):
        self.settings = settings

    def __call__(self) -> dict:
        s = self.settings
        # A session per renewal: Authlib keeps the last token on it, and renewals are rare.
        session = OAuth2Session(s.client_id, s.client_secret, default_timeout=s.timeout)
        try:
            with session:
                token = session.refresh_token(
                    s.endpoint,
                    refresh_token=s.refresh_token,
                    timeout=s.timeout,
                    verify=s.ca_file or True,
                )
        except OAuthError as exc:
            raise refused(s.endpoint, exc.error, exc.description, s.secrets) from exc
        except requests.RequestException as exc:
            raise network_failure(exc, s.endpoint, s.timeout) from exc
        if not token.get("access_token"):
            raise refused(s.endpoint, "no access token", None)
        return dict(token)
