"""A real SMTP server on loopback for tests (aiosmtpd), with TLS, AUTH and fault injection.

`SmtpServer(...)` starts on a free 127.0.0.1 port; `.stop()` ends it. What it
accepted is in `.messages`, every DATA it was offered (refused ones too) in
`.handler.offered`, each with the client's `peer` (one per connection); `.faults`
is a script of replies to give instead of accepting, consumed one per message:
e.g. `["421 4.3.0 busy", "drop", None]`.
`SilentServer` accepts TCP connections and never says a word. `RawSmtpServer` answers
slowly, or with replies no real server library would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import ssl
import struct
import threading
from collections import deque
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

QUEUE_ID = "4F2A"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    # The client's (host, port): one per SMTP connection, so tests can count connections.
    peer: tuple | None = None

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


@dataclass
class Handler:
    """Records accepted mail; answers with the next scripted fault when there is one."""

    faults: deque = field(default_factory=deque)
    rcpt_faults: deque = field(default_factory=deque)
    refuse_senders: set = field(default_factory=set)
    delay: float = 0.0
    messages: list[Received] = field(default_factory=list)
    # Every DATA the server was offered, accepted or not (faults included).
    offered: list[Received] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address in self.refuse_senders:
            return "553 5.7.1 Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        fault = self.rcpt_faults.popleft() if self.rcpt_faults else None
        if fault:
            return fault
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        received = Received(
            envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, session.peer
        )
        with self.lock:
            self.attempts += 1
            self.offered.append(received)
        if self.delay:
            await asyncio.sleep(self.delay)
        fault = self.faults.popleft() if self.faults else None
        if fault == "drop":
            session.transport.close() if hasattr(session, "transport") else None
            server.transport.close()
            return "421 closing"
        if fault:
            return fault
        with self.lock:
            self.messages.append(received)
        return f"250 2.0.0 Ok: queued as {QUEUE_ID}"


class SmtpServer:
    """aiosmtpd on 127.0.0.1. tls: None, "starttls" or "implicit"; auth: (user, password)."""

    def __init__(
        self,
        *,
        tls: str | None = None,
        cert=None,
        auth: tuple[str, str] | None = None,
        smtputf8: bool = False,
        faults=(),
        delay: float = 0.0,
        port: int | None = None,
        idle_timeout: float = 300.0,
    ):
        self.handler = Handler(faults=deque(faults), delay=delay)
        self.host, self.port = "127.0.0.1", port or free_port()
        self.auth_attempts: list[str] = []
        kwargs = {
            "server_hostname": "mx.test.local",
            "enable_SMTPUTF8": smtputf8,
            # Seconds of client silence before the server hangs up (it logs "connection timeout").
            "timeout": idle_timeout,
        }
        if auth:
            kwargs["authenticator"] = self._authenticator(auth)
            kwargs["auth_required"] = True
        if tls == "starttls":
            kwargs["tls_context"] = _server_context(cert)
            kwargs["require_starttls"] = True
        elif tls == "implicit":
            kwargs["ssl_context"] = _server_context(cert)
            # aiosmtpd counts only STARTTLS as TLS; the listener here is TLS-only.
            kwargs["auth_require_tls"] = False
        elif auth:
            kwargs["auth_require_tls"] = False
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, **kwargs)
        self.controller.start()

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    @property
    def faults(self) -> deque:
        return self.handler.faults

    def _authenticator(self, expected: tuple[str, str]):
        def check(server, session, envelope, mechanism, data):
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == expected
            )
            self.auth_attempts.append("ok" if ok else "refused")
            # handled=False lets aiosmtpd send the 535 itself; True would leave the client hanging.
            return AuthResult(success=ok, handled=False)

        return check

    def stop(self) -> None:
        self.controller.stop()


class SilentServer:
    """Accepts TCP connections and never speaks: the client must time out."""

    def __init__(self):
        self.sock = socket.socket()
        # Accepted sockets inherit SO_REUSEADDR, so a half-closed one left behind by stop()
        # cannot keep a real server (a test's "now it answers") off this port.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.host, self.port = self.sock.getsockname()
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections.append(conn)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()
        # Idempotent: a test may stop it early, and its fixture stops it again.
        connections, self.connections = self.connections, []
        for conn in connections:
            # A reset, not a FIN: the socket is gone at once instead of waiting in FIN_WAIT2
            # for a client that may be blocked elsewhere, still holding the port.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
        self.sock.close()


def _server_context(cert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


class RawSmtpServer:
    """A hand-written SMTP server on a raw socket, for replies aiosmtpd will not give: every
    reply `delay` seconds late (the greeting too), and `data_reply` as the last word of DATA
    (a NUL byte, a very long line...). Accepted messages are in `.messages` as `Received`."""

    def __init__(self, *, delay: float = 0.0, data_reply: bytes = b"250 2.0.0 Ok: queued"):
        self.delay, self.data_reply = delay, data_reply
        self.messages: list[Received] = []
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.host, self.port = self.sock.getsockname()
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            with self.lock:
                self.connections += 1
                self._open.append(conn)
            threading.Thread(target=self._session, args=(conn, peer), daemon=True).start()

    def _session(self, conn: socket.socket, peer) -> None:
        reader = conn.makefile("rb")
        try:
            self._reply(conn, b"220 raw.test.local ESMTP")
            envelope = {"from": "", "to": []}
            for line in reader:
                if not self._answer(conn, reader, line.rstrip(b"\r\n"), envelope, peer):
                    break
        except OSError:
            pass  # the client or stop() closed the connection
        finally:
            reader.close()
            conn.close()

    def _answer(self, conn, reader, line: bytes, envelope: dict, peer) -> bool:
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            self._reply(conn, b"250-raw.test.local\r\n250 8BITMIME")
        elif verb == b"MAIL":
            envelope["from"], envelope["to"] = _address(line), []
            self._reply(conn, b"250 OK")
        elif verb == b"RCPT":
            envelope["to"].append(_address(line))
            self._reply(conn, b"250 OK")
        elif verb == b"DATA":
            self._reply(conn, b"354 go ahead")
            data = _read_data(reader)
            if data is None:
                return False  # the client left mid-message: nothing was delivered
            with self.lock:
                self.messages.append(Received(envelope["from"], envelope["to"], data, peer))
            self._reply(conn, self.data_reply)
        elif verb == b"QUIT":
            self._reply(conn, b"221 bye")
            return False
        else:  # RSET, NOOP
            self._reply(conn, b"250 OK")
        return True

    def _reply(self, conn: socket.socket, reply: bytes) -> None:
        if self.delay:
            self._stop.wait(self.delay)
        conn.sendall(reply + b"\r\n")

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()
        with self.lock:
            connections, self._open = self._open, []
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.sock.close()


def _address(line: bytes) -> str:
    return line.partition(b":")[2].strip().split(b" ")[0].strip(b"<>").decode()


def _read_data(reader) -> bytes | None:
    lines = []
    for line in reader:
        if line in (b".\r\n", b".\n"):
            return b"".join(lines).replace(b"\r\n", b"\n")
        lines.append(line[1:] if line.startswith(b"..") else line)
    return None
