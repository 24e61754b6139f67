"""Hints for an OAuth2 token that could not be had: which setting to change, in plain words.

Used by the connection doctor's token step and for the reason a sender shows when
the token endpoint is down or refuses (`MAIL_AUTH=xoauth2`).
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.mail.oauth2.errors import CERTIFICATE, UNREACHABLE, TokenError


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark only"
    """Marks a hint for translation; it is translated where it is filled in, below."""
    return message


ENDPOINT_UNREACHABLE = N_(
    "The OAuth2 token endpoint {endpoint} could not be reached. Check "
    "MAIL_OAUTH2_AUTHORITY (Microsoft) or MAIL_OAUTH2_TOKEN_URL (Google), and that this host "
    "may open HTTPS connections to it (a firewall, or a proxy to name in HTTPS_PROXY)."
)
ENDPOINT_UNTRUSTED = N_(
    "The OAuth2 token endpoint's certificate is not signed by a CA this host trusts. If a "
    "TLS-inspecting proxy stands between, set MAIL_OAUTH2_CA_FILE to its CA (PEM)."
)
CLIENT_REFUSED = N_(
    "The token endpoint does not accept this app's credentials ({error}). Check "
    "MAIL_OAUTH2_CLIENT_ID (the app registration's Application (client) ID) and "
    "MAIL_OAUTH2_CLIENT_SECRET (the secret's Value, not its ID; Entra secrets expire: make "
    "a new one under Certificates & secrets) or MAIL_OAUTH2_CLIENT_CERTIFICATE."
)
GRANT_REFUSED = N_(
    "The refresh token is expired or revoked ({error}). Sign in again to get a new one and "
    "set MAIL_OAUTH2_REFRESH_TOKEN; for Microsoft 365, app-only tokens (a client secret, no "
    "refresh token) do not expire this way."
)
SCOPE_REFUSED = N_(
    "The token endpoint refused the scope ({error}). Unset MAIL_OAUTH2_SCOPE to use the "
    "provider's default (https://outlook.office365.com/.default for app-only Microsoft 365, "
    "https://mail.google.com/ for Google)."
)
TENANT_UNKNOWN = N_(
    "The authority {endpoint} is not known. Check MAIL_OAUTH2_TENANT (the Directory "
    "(tenant) ID or a domain of the tenant) and MAIL_OAUTH2_AUTHORITY."
)
OTHER_REFUSAL = N_("The token endpoint refused ({error}): its words above say why.")

_BY_ERROR = {
    "invalid_client": CLIENT_REFUSED,
    "unauthorized_client": CLIENT_REFUSED,
    "invalid_grant": GRANT_REFUSED,
    "invalid_scope": SCOPE_REFUSED,
    "unknown authority or tenant": TENANT_UNKNOWN,
}


def for_token_error(error: TokenError, endpoint: str) -> str:
    if error.kind == UNREACHABLE:
        template = ENDPOINT_UNREACHABLE
    elif error.kind == CERTIFICATE:
        template = ENDPOINT_UNTRUSTED
    else:
        template = _BY_ERROR.get(error.error, OTHER_REFUSAL)
    return _(template).format(endpoint=endpoint, error=error.error or _("no token"))


def for_reason(reason: str) -> str | None:
    """The hint for a sender's stored reason that came from the token endpoint, if it did."""
    words = reason.lower()
    if not words.startswith("oauth2 token endpoint"):
        return None
    host = reason.split()[3].rstrip(":") if len(reason.split()) > 3 else "the token endpoint"
    if "certificate not trusted" in words:
        return _(ENDPOINT_UNTRUSTED)
    if " refused: " not in words:
        return _(ENDPOINT_UNREACHABLE).format(endpoint=host)
    error = words.partition(" refused: ")[2].partition(":")[0].strip()
    return _(_BY_ERROR.get(error, OTHER_REFUSAL)).format(endpoint=host, error=error)
