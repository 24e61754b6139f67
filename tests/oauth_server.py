"""A small HTTPS OAuth2 token endpoint of the tests' own, on 127.0.0.1 with a test CA's certificate.

It speaks what MSAL and Authlib ask for: the OpenID configuration of a Microsoft-style
authority (`/<tenant>/v2.0/.well-known/openid-configuration`), its token endpoint
(`/<tenant>/oauth2/v2.0/token`, client credentials with a secret or a certificate, and
refresh tokens), and a Google-style `/token` (refresh tokens). It issues JWT-shaped access
tokens, remembers them for the SMTP server to check (`valid`), and can refuse or expire them.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

import jwt

TENANT = "contoso-tenant"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "Sx8Q~client-secret-never-shown"  # noqa: S105 - a test value, checked for leaks
REFRESH_TOKEN = "1//refresh-token-never-shown"  # noqa: S105 - a test value, checked for leaks
AUDIENCE = "https://outlook.office365.com"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class TokenRequest:
    path: str
    grant_type: str
    form: dict


class TokenEndpoint:
    """`.url` is the base (https://127.0.0.1:port); `.authority` and `.google_token_url` the
    two ways in. `.requests` lists token requests (discovery is not one); `.refuse` makes the
    next answers an OAuth2 error; `.delay` holds each answer back."""

    def __init__(self, cert, *, lifetime: int = 3600, certificate_pem: bytes | None = None):
        self.lifetime = lifetime
        self.certificate_pem = certificate_pem
        self.refuse: tuple[str, str] | None = None
        self.delay = 0.0
        self.requests: list[TokenRequest] = []
        self.discoveries = 0
        self.issued: dict[str, float] = {}  # token -> expiry (time.monotonic)
        self.refresh_tokens = {REFRESH_TOKEN}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def authority(self) -> str:
        return self.url  # MAIL_OAUTH2_AUTHORITY; the tenant is MAIL_OAUTH2_TENANT

    @property
    def google_token_url(self) -> str:
        return f"{self.url}/token"

    def token_requests(self) -> int:
        with self.lock:
            return len(self.requests)

    def valid(self, token: str) -> bool:
        with self.lock:
            expiry = self.issued.get(token)
        return expiry is not None and time.monotonic() < expiry

    def expire_all(self) -> None:
        """Every token issued so far is now expired (the server's clock moved on)."""
        with self.lock:
            self.issued = dict.fromkeys(self.issued, 0.0)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    # -- answering --

    def answer_token(self, path: str, form: dict, basic: tuple[str, str] | None) -> tuple:
        grant = form.get("grant_type", "")
        with self.lock:
            self.requests.append(TokenRequest(path, grant, form))
        if self.delay:
            time.sleep(self.delay)
        if self.refuse:
            error, description = self.refuse
            return 401 if error == "invalid_client" else 400, {
                "error": error,
                "error_description": description,
            }
        problem = self._client_problem(path, form, basic) or self._grant_problem(grant, form)
        if problem:
            return 400 if problem[0] != "invalid_client" else 401, {
                "error": problem[0],
                "error_description": problem[1],
            }
        return 200, self._issue(path, form)

    def _client_problem(self, path, form, basic):
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        if client_id != CLIENT_ID:
            return "unauthorized_client", "AADSTS700016: Application not found in the directory."
        if form.get("client_assertion_type") == ASSERTION_TYPE:
            return self._assertion_problem(path, form.get("client_assertion", ""))
        if secret is None and form.get("grant_type") == "refresh_token" and "/oauth2/" in path:
            return None  # a public client (delegated Microsoft 365): no secret of its own
        if secret != CLIENT_SECRET:
            return "invalid_client", "AADSTS7000215: Invalid client secret provided."
        return None

    def _assertion_problem(self, path, assertion):
        if self.certificate_pem is None:
            return "invalid_client", "AADSTS700027: no certificate registered for the app."
        try:
            jwt.decode(
                assertion,
                _public_key(self.certificate_pem),
                algorithms=["RS256", "PS256"],
                audience=f"{self.url}{path}",
            )
        except jwt.PyJWTError as exc:
            return "invalid_client", f"AADSTS700027: client assertion refused: {exc}"
        return None

    def _grant_problem(self, grant, form):
        if grant == "client_credentials":
            if form.get("scope") != f"{AUDIENCE}/.default":
                return "invalid_scope", f"AADSTS1002012: scope {form.get('scope')} is not valid."
            return None
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return "invalid_grant", "AADSTS70000: The refresh token has expired or is revoked."
            return None
        return "unsupported_grant_type", f"grant {grant!r}"

    def _issue(self, path: str, form: dict) -> dict:
        token = _jwt_shaped(AUDIENCE, self.lifetime)
        with self.lock:
            self.issued[token] = time.monotonic() + self.lifetime
        answer = {
            "token_type": "Bearer",
            "access_token": token,
            "expires_in": self.lifetime,
            "scope": form.get("scope") or "https://mail.google.com/",
        }
        if form.get("grant_type") == "refresh_token" and "/oauth2/" in path:
            # Microsoft rotates refresh tokens: the old one keeps working, the new one too.
            rotated = f"rotated-{secrets.token_hex(8)}"
            with self.lock:
                self.refresh_tokens.add(rotated)
            answer["refresh_token"] = rotated
        return answer

    def openid_configuration(self, tenant: str) -> dict:
        with self.lock:
            self.discoveries += 1
        base = f"{self.url}/{tenant}"
        return {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
        }

    def _handler_class(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: the test output is for the tests
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                    self._send(200, endpoint.openid_configuration(parts[0]))
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                path = self.path.split("?")[0]
                if path not in (f"/{TENANT}/oauth2/v2.0/token", "/token"):
                    self._send(404, {"error": "not_found"})
                    return
                status, answer = endpoint.answer_token(path, form, _basic(self.headers))
                self._send(status, answer)

            def _send(self, status: int, answer: dict):
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def _basic(headers) -> tuple[str, str] | None:
    value = headers.get("Authorization") or ""
    if not value.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return unquote(user), unquote(password)


def _jwt_shaped(audience: str, lifetime: int) -> str:
    """A token that reads like Microsoft's (a JWT with aud and exp); never verified here."""
    claims = {"aud": audience, "exp": int(time.time()) + lifetime, "jti": secrets.token_hex(8)}
    return jwt.encode(claims, secrets.token_bytes(32), algorithm="HS256")


def _public_key(certificate_pem: bytes):
    from cryptography import x509

    return x509.load_pem_x509_certificate(certificate_pem).public_key()
