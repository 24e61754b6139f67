"""OAuth2 access tokens for SMTP AUTH XOAUTH2 (Microsoft 365 through MSAL, Google through
Authlib): the settings, the grants, the per-process token cache and the SASL exchange."""

from app.mail.oauth2.errors import TokenError
from app.mail.oauth2.settings import OAuth2Settings
from app.mail.oauth2.source import AccessToken, TokenSource, token_source

__all__ = ["AccessToken", "OAuth2Settings", "TokenError", "TokenSource", "token_source"]
