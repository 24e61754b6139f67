"""An aiosmtpd server in a process of its own, so its CPU time is not the measured client's.

`SmtpProcess(...)` starts it on a free 127.0.0.1 port and returns once it listens;
`.received` counts the messages it accepted, `.receipts` yields the wall-clock time
(time.time(), the same clock in every process) at which each DATA was complete.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import socket
import ssl
import time
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# The spawn start method: the child imports only this module, not the parent's app and database.
_mp = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class ServerSpec:
    """What the server demands and how slow it is. `cert` is (chain_pem, key_pem) paths."""

    starttls: bool = False
    cert: tuple[str, str] | None = None
    auth: tuple[str, str] | None = None
    delay: float = 0.0
    report_receipts: bool = False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpProcess:
    def __init__(self, spec: ServerSpec):
        self.host, self.port = "127.0.0.1", free_port()
        self._count, self._logins = _mp.Value("q", 0), _mp.Value("q", 0)
        self._receipts = _mp.Queue() if spec.report_receipts else None
        self._ready, self._stop = _mp.Event(), _mp.Event()
        self._process = _mp.Process(
            target=_serve,
            args=(
                spec,
                self.port,
                self._count,
                self._logins,
                self._receipts,
                self._ready,
                self._stop,
            ),
            daemon=True,
        )
        self._process.start()
        deadline = time.monotonic() + 30
        while not self._ready.wait(0.05):
            if not self._process.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the benchmark SMTP server did not start")

    @property
    def received(self) -> int:
        return self._count.value

    @property
    def logins(self) -> int:
        """Successful AUTHs: one per connection a client opened."""
        return self._logins.value

    def reset(self) -> None:
        with self._count.get_lock():
            self._count.value = 0

    def next_receipt(self, timeout: float) -> float:
        """The time.time() at which the next message was received (raises queue.Empty)."""
        return self._receipts.get(timeout=timeout)

    def stop(self) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)

    def __enter__(self) -> SmtpProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _Handler:
    def __init__(self, delay: float, count, receipts):
        self.delay, self.count, self.receipts = delay, count, receipts

    async def handle_DATA(self, server, session, envelope):
        received_at = time.time()
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.count.get_lock():
            self.count.value += 1
        if self.receipts is not None:
            self.receipts.put(received_at)
        return "250 2.0.0 Ok: queued"


def _serve(spec: ServerSpec, port: int, count, logins, receipts, ready, stop) -> None:
    # aiosmtpd 1.4.6 logs a warning about its own use of Session.login_data on every AUTH.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    kwargs = {"server_hostname": "mx.bench.local"}
    if spec.starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*spec.cert)
        kwargs.update(tls_context=context, require_starttls=True)
    if spec.auth:
        kwargs.update(authenticator=_authenticator(spec.auth, logins), auth_required=True)
        if not spec.starttls:
            kwargs["auth_require_tls"] = False
    handler = _Handler(spec.delay, count, receipts)
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    ready.set()
    try:
        stop.wait()
    finally:
        controller.stop()


def _authenticator(expected: tuple[str, str], logins):
    def check(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and (
            data.login.decode(),
            data.password.decode(),
        ) == tuple(expected)
        if ok:
            with logins.get_lock():
                logins.value += 1
        # handled=False: aiosmtpd answers 535 itself (True would leave the client hanging).
        return AuthResult(success=ok, handled=False)

    return check
