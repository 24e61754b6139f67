"""Why no token came: the endpoint could not be reached, or it answered with an error.

Reasons are worded for an admin and carry the endpoint's own error code
(`invalid_client`, `AADSTS7000215`...), never a secret or a token.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

UNREACHABLE, CERTIFICATE, REFUSED = "unreachable", "certificate", "refused"
# An endpoint's error description is shown and stored: one short line of printable text.
MAX_REASON_CHARS = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class TokenError(Exception):
    """`kind`: unreachable (network, timeout, TLS), certificate, or refused (an OAuth2 error)."""

    def __init__(self, kind: str, reason: str, error: str = ""):
        reason = _CONTROL.sub(" ", reason)[:MAX_REASON_CHARS]
        super().__init__(reason)
        self.kind, self.reason, self.error = kind, reason, error


def network_failure(exc: requests.RequestException, endpoint: str, timeout: float) -> TokenError:
    """A requests failure (no answer from the endpoint) in plain words."""
    import requests  # here: a worker that signs in with a password never loads requests

    where = f"OAuth2 token endpoint {host_of(endpoint)}"
    if isinstance(exc, requests.exceptions.SSLError):
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return TokenError(CERTIFICATE, f"{where}: certificate not trusted")
        return TokenError(UNREACHABLE, f"{where}: TLS failed")
    if isinstance(exc, requests.exceptions.Timeout):
        return TokenError(UNREACHABLE, f"{where}: no answer within {timeout:g} s")
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc).lower()
        if "name or service not known" in text or "name resolution" in text:
            return TokenError(UNREACHABLE, f"{where}: host name not found")
        if "refused" in text:
            return TokenError(UNREACHABLE, f"{where}: connection refused")
        return TokenError(UNREACHABLE, f"{where}: could not connect")
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return TokenError(UNREACHABLE, f"{where}: HTTP {exc.response.status_code}")
    return TokenError(UNREACHABLE, f"{where}: {type(exc).__name__}")


def refused(endpoint: str, error: str, description: str | None, secrets=()) -> TokenError:
    """The endpoint answered with an OAuth2 error: keep its code and first sentence."""
    first = (description or "").strip().splitlines()[0] if (description or "").strip() else ""
    for secret in secrets:
        first = first.replace(secret, "[secret]")
    words = f"{error}: {first}" if first else error
    return TokenError(REFUSED, f"OAuth2 token endpoint {host_of(endpoint)} refused: {words}", error)


def host_of(url: str) -> str:
    """The endpoint's host (and port), which is what an admin recognises."""
    import requests

    return requests.utils.urlparse(url).netloc or url
