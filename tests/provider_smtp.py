"""An aiosmtpd server on loopback that speaks like the providers: AUTH XOAUTH2 with bearer
tokens checked against the tests' token endpoint, and scripted provider refusals.

`ProviderSmtp(tokens=endpoint.valid)` offers XOAUTH2 (and LOGIN/PLAIN with `password`);
`style="google"` refuses a token with a 334 JSON challenge first, as Gmail does.
`auth_reply`, `mail_reply` and `rcpt_reply` give a provider's refusal at that step.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.smtp_server import Handler, _server_context, free_port

MICROSOFT_REFUSAL = "535 5.7.3 Authentication unsuccessful"
GOOGLE_REFUSAL = "535 5.7.8 Username and Password not accepted. For more information, go to..."
GOOGLE_CHALLENGE = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}


@dataclass
class ProviderHandler(Handler):
    tokens: Callable[[str], bool] | None = None
    password: tuple[str, str] | None = None
    style: str = "microsoft"
    auth_reply: str | None = None
    mail_reply: str | None = None
    # What each AUTH was: ("XOAUTH2", user, accepted) or ("LOGIN", user, accepted), and when
    # (time.monotonic()).
    auth_log: list = field(default_factory=list)
    auth_times: list = field(default_factory=list)
    auth_lock: threading.Lock = field(default_factory=threading.Lock)

    async def auth_XOAUTH2(self, server, args):  # noqa: N802 - aiosmtpd finds it by this name
        blob = b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        fields = dict(part.split("=", 1) for part in blob.decode().split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        accepted = self.auth_reply is None and bool(self.tokens and self.tokens(token))
        with self.auth_lock:
            self.auth_log.append(("XOAUTH2", user, accepted))
            self.auth_times.append(time.monotonic())
        if accepted:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        if self.auth_reply:
            return AuthResult(success=False, handled=False, message=self.auth_reply)
        if self.style == "google":
            # Gmail's way: a 334 with the error, then the client's empty line, then 535.
            await server.challenge_auth(json.dumps(GOOGLE_CHALLENGE))
            return AuthResult(success=False, handled=False, message=GOOGLE_REFUSAL)
        return AuthResult(success=False, handled=False, message=MICROSOFT_REFUSAL)

    def check_password(self, server, session, envelope, mechanism, data):
        user = data.login.decode() if isinstance(data, LoginPassword) else ""
        ok = (
            self.auth_reply is None
            and self.password is not None
            and (
                user,
                data.password.decode(),
            )
            == self.password
        )
        with self.auth_lock:
            self.auth_log.append((mechanism, user, ok))
            self.auth_times.append(time.monotonic())
        if ok:
            return AuthResult(success=True, handled=False)
        return AuthResult(success=False, handled=False, message=self.auth_reply)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self.mail_reply:
            return self.mail_reply
        return await super().handle_MAIL(server, session, envelope, address, mail_options)


class _LongLinesSMTP(SMTP):
    """Bearer tokens are long (a Microsoft JWT is 1.5-3 KB): AUTH lines past aiosmtpd's 512."""

    line_length_limit = 16384

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.command_size_limits = collections.defaultdict(lambda: 16384)


class _Controller(Controller):
    def factory(self):
        return _LongLinesSMTP(self.handler, **self.SMTP_kwargs)


class ProviderSmtp:
    """Started on a free 127.0.0.1 port; `.stop()` ends it. tls: None or "starttls"."""

    def __init__(
        self,
        *,
        tokens: Callable[[str], bool] | None = None,
        password: tuple[str, str] | None = None,
        style: str = "microsoft",
        auth_reply: str | None = None,
        mail_reply: str | None = None,
        rcpt_reply: str | None = None,
        tls: str | None = None,
        cert=None,
        port: int | None = None,
    ):
        self.handler = ProviderHandler(
            tokens=tokens,
            password=password,
            style=style,
            auth_reply=auth_reply,
            mail_reply=mail_reply,
        )
        if rcpt_reply:
            # Every RCPT gets it (the deque is refilled as it is used).
            self.handler.rcpt_faults = _Always(rcpt_reply)
        self.host, self.port = "127.0.0.1", port or free_port()
        kwargs = {
            "server_hostname": "smtp.provider.test",
            "authenticator": self.handler.check_password,
            "auth_required": True,
            "auth_require_tls": tls is not None,
        }
        if tls == "starttls":
            kwargs["tls_context"] = _server_context(cert)
            kwargs["require_starttls"] = True
        self.controller = _Controller(self.handler, hostname=self.host, port=self.port, **kwargs)
        self.controller.start()

    @property
    def messages(self):
        return self.handler.messages

    @property
    def auth_log(self) -> list:
        with self.handler.auth_lock:
            return list(self.handler.auth_log)

    @property
    def auth_times(self) -> list[float]:
        with self.handler.auth_lock:
            return list(self.handler.auth_times)

    def stop(self) -> None:
        self.controller.stop()


class _Always(collections.deque):
    """A fault script that never runs out."""

    def __init__(self, reply: str):
        super().__init__([reply])
        self.reply = reply

    def popleft(self):
        return self.reply
