"""The HTTP session that reaches a token endpoint: verified TLS and a timeout on every request.

MSAL and Authlib both take a requests Session; this one trusts MAIL_OAUTH2_CA_FILE
(or the default bundle) and never waits longer than MAIL_TIMEOUT for an answer.
"""

from __future__ import annotations

import requests


class TokenEndpointSession(requests.Session):
    def __init__(self, timeout: float, ca_file: str | None):
        super().__init__()
        self.timeout = timeout
        # Given per request too: a request-level verify=None would let REQUESTS_CA_BUNDLE
        # from the environment replace the CA file chosen in the settings.
        self.verify = ca_file or True

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, **kwargs)
