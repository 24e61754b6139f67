"""The OAuth2 settings of `MAIL_AUTH=xoauth2`, read once from the app's config.

Which provider, which grant (client credentials or a refresh token), and where
its token endpoint is. Secrets never appear in a repr, a log line or a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

MICROSOFT, GOOGLE = "microsoft", "google"
PROVIDERS = (MICROSOFT, GOOGLE)
CLIENT_CREDENTIALS, REFRESH_TOKEN = "client credentials", "refresh token"

MICROSOFT_LOGIN = "https://login.microsoftonline.com"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
# App-only tokens ask for the resource's ".default" scope: the permissions granted to the
# app (SMTP.SendAsApp). Delegated ones ask for SMTP.Send (MSAL adds offline_access itself).
MICROSOFT_APP_SCOPE = "https://outlook.office365.com/.default"
MICROSOFT_DELEGATED_SCOPE = "https://outlook.office365.com/SMTP.Send"
GOOGLE_SCOPE = "https://mail.google.com/"
# Host names that tell the provider when MAIL_OAUTH2_PROVIDER is not set.
_SERVER_HINTS = {
    "office365.com": MICROSOFT,
    "outlook.com": MICROSOFT,
    "gmail.com": GOOGLE,
    "googlemail.com": GOOGLE,
}


@dataclass(frozen=True)
class OAuth2Settings:
    provider: str
    username: str
    client_id: str
    client_secret: str | None = field(repr=False)
    certificate_file: str | None
    refresh_token: str | None = field(repr=False)
    tenant: str | None
    scope: str
    endpoint: str
    ca_file: str | None
    timeout: float

    @classmethod
    def from_config(cls, config) -> OAuth2Settings:
        provider = provider_for(config) or MICROSOFT
        refresh_token = config.get("MAIL_OAUTH2_REFRESH_TOKEN") or None
        return cls(
            provider=provider,
            username=config.get("MAIL_USERNAME") or "",
            client_id=config.get("MAIL_OAUTH2_CLIENT_ID") or "",
            client_secret=config.get("MAIL_OAUTH2_CLIENT_SECRET") or None,
            certificate_file=config.get("MAIL_OAUTH2_CLIENT_CERTIFICATE") or None,
            refresh_token=refresh_token,
            tenant=config.get("MAIL_OAUTH2_TENANT") or None,
            scope=config.get("MAIL_OAUTH2_SCOPE") or _default_scope(provider, refresh_token),
            endpoint=_endpoint(config, provider),
            ca_file=config.get("MAIL_OAUTH2_CA_FILE") or None,
            timeout=float(config.get("MAIL_TIMEOUT") or 30),
        )

    @property
    def grant(self) -> str:
        return REFRESH_TOKEN if self.refresh_token else CLIENT_CREDENTIALS

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value: scrubbed from any text shown or logged, whatever its source."""
        return tuple(s for s in (self.client_secret, self.refresh_token) if s)


def provider_for(config) -> str | None:
    """MAIL_OAUTH2_PROVIDER, or the provider MAIL_SERVER's name gives away."""
    named = (config.get("MAIL_OAUTH2_PROVIDER") or "").strip().lower()
    if named:
        return named
    server = (config.get("MAIL_SERVER") or "").lower()
    return next((p for host, p in _SERVER_HINTS.items() if server.endswith(host)), None)


def _default_scope(provider: str, refresh_token: str | None) -> str:
    if provider == GOOGLE:
        return GOOGLE_SCOPE
    return MICROSOFT_DELEGATED_SCOPE if refresh_token else MICROSOFT_APP_SCOPE


def _endpoint(config, provider: str) -> str:
    """Microsoft: the authority (login host + tenant); Google: the token URL itself."""
    if provider == GOOGLE:
        return config.get("MAIL_OAUTH2_TOKEN_URL") or GOOGLE_TOKEN_URL
    authority = (config.get("MAIL_OAUTH2_AUTHORITY") or MICROSOFT_LOGIN).rstrip("/")
    tenant = config.get("MAIL_OAUTH2_TENANT") or "organizations"
    return f"{authority}/{tenant}"


def summary_rows(config) -> list[tuple[str, str]]:
    """(label, value) rows for the admin settings table: secrets only "set" or "not set"."""
    sign_in = _("Sign-in (%(setting)s)", setting="MAIL_AUTH")
    if (config.get("MAIL_AUTH") or "password") != "xoauth2":
        return [(sign_in, _("password (MAIL_USERNAME + MAIL_PASSWORD)"))]
    s = OAuth2Settings.from_config(config)
    set_, not_set = _("set"), _("not set")
    return [
        (sign_in, _("xoauth2: OAuth2 token for %(user)s", user=s.username or "MAIL_USERNAME")),
        (
            _("OAuth2 provider (%(setting)s)", setting="MAIL_OAUTH2_PROVIDER"),
            f"{s.provider}, {s.grant}",
        ),
        (_("Token endpoint"), s.endpoint),
        (_("Client ID (%(setting)s)", setting="MAIL_OAUTH2_CLIENT_ID"), s.client_id or not_set),
        (
            _("Client secret (%(setting)s)", setting="MAIL_OAUTH2_CLIENT_SECRET"),
            set_ if s.client_secret else not_set,
        ),
        (
            _("Client certificate (%(setting)s)", setting="MAIL_OAUTH2_CLIENT_CERTIFICATE"),
            s.certificate_file or not_set,
        ),
        (
            _("Refresh token (%(setting)s)", setting="MAIL_OAUTH2_REFRESH_TOKEN"),
            set_ if s.refresh_token else not_set,
        ),
        (_("Scope (%(setting)s)", setting="MAIL_OAUTH2_SCOPE"), s.scope),
    ]
