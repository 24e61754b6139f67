"""Oversized request bodies are refused early with 413, under a real gunicorn.

A body is streamed from a generator (never built in memory), with a Content-Length and
chunked, to /login. The answer must come long before the body has been sent, the worker's
memory must stay flat, and a multipart body must not spill into the temp dir.
"""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import base_config
from tests.live import ROOT, Browser, clean_environment, end_process_group, wait_until_serving
from tests.smtp_server import free_port

pytestmark = pytest.mark.slow
MIB = 1024 * 1024
HUGE = 400 * MIB
PIECE = 64 * 1024
# A worker that reads a body into memory grows by about twice its size (897 MB for 400 MiB).
FLAT_RSS_KB = 4 * 1024
BOUNDARY = "mailroom-test-boundary"


@pytest.fixture
def gunicorn(private_database_url, tmp_path):
    """One gunicorn worker with the production settings; its own TMPDIR to watch."""
    app = create_app(base_config(private_database_url))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    # The metrics directory gunicorn.conf.py would otherwise make in TMPDIR, by design: the
    # watched folder must hold only what a request body spilled.
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    env = clean_environment(
        APP_ENV="production",
        SECRET_KEY="9f2c4e7a1b8d3f6e0a5c2b9d4e7f1a3c",
        APP_BASE_URL=f"http://127.0.0.1:{port}",
        DATABASE_URL=private_database_url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=free_port(),
        MAIL_DEFAULT_SENDER="Mailroom <no-reply@mailroom.example>",
        MAIL_SENDER_THREADS=0,
        RATELIMIT_ENABLED="false",
        WEB_CONCURRENCY=1,
        GUNICORN_THREADS=2,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        TMPDIR=str(temp_dir),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    log = (tmp_path / "gunicorn.log").open("ab")
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_serving(port, process, path="/login")
        yield Server(port, process.pid, temp_dir)
    finally:
        end_process_group(process)
        log.close()


class Server:
    def __init__(self, port: int, master_pid: int, temp_dir: Path):
        self.port = port
        self.master_pid = master_pid
        self.temp_dir = temp_dir

    @property
    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.master_pid}/task/{self.master_pid}/children")
        (pid,) = children.read_text().split()
        return int(pid)

    def peak_rss_kb(self) -> int:
        """The worker's high-water mark of resident memory (VmHWM), so a spike between two
        looks is not missed."""
        for line in Path(f"/proc/{self.worker_pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM line")

    def files_open_in_temp_dir(self) -> list[str]:
        fd_dir = Path(f"/proc/{self.worker_pid}/fd")
        found = []
        for fd in fd_dir.iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue  # closed while looking
            # gunicorn keeps its worker heartbeat file there (wgunicorn-*): not a body.
            if target.startswith(str(self.temp_dir)) and "/wgunicorn-" not in target:
                found.append(target)
        return found


class Sent:
    """What one streamed request did: the reply, and how much of the body went out first."""

    def __init__(self, status: int, reply: bytes, body_bytes_sent: int, temp_files: list[str]):
        self.status = status
        self.reply = reply
        self.body_bytes_sent = body_bytes_sent
        self.temp_files = temp_files


def stream(server: Server, headers: dict[str, str], body: Iterator[bytes]) -> Sent:
    """POST /login, sending `body` piece by piece until the server answers (or it ends)."""
    head = "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(head.encode())
    sock.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    pending, sent, temp_files = b"", 0, set()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            events = selector.select(timeout=5)
            if any(mask & selectors.EVENT_READ for _, mask in events):
                break  # the server answered: stop sending
            temp_files.update(server.files_open_in_temp_dir())
            if not pending:
                pending = next(body, b"")
                if not pending:
                    selector.modify(sock, selectors.EVENT_READ)
                    continue
            try:
                written = sock.send(pending)
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += written
            pending = pending[written:]
        reply = _read_reply(sock)
    finally:
        selector.close()
        sock.close()
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0
    return Sent(status, reply, sent, sorted(temp_files))


def _read_reply(sock: socket.socket) -> bytes:
    sock.setblocking(True)
    sock.settimeout(30)
    reply = b""
    try:
        while b"</html>" not in reply:
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    except (ConnectionResetError, TimeoutError):
        pass
    return reply


def urlencoded(total: int) -> Iterator[bytes]:
    yield b"email=a%40example.com&password="
    piece = b"a" * PIECE
    for _ in range(total // PIECE):
        yield piece


def multipart(total: int) -> Iterator[bytes]:
    yield (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="avatar"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    piece = b"\0" * PIECE
    for _ in range(total // PIECE):
        yield piece
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def chunked(pieces: Iterator[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def _warm_up(server: Server) -> None:
    """Load every page and error path once, so what is measured next is the request alone."""
    browser = Browser(server.port)
    browser.get("/login")
    browser.post("/login", {"email": "a@example.com", "password": "x"})
    small = 128 * 1024  # over the limit, far under anything that shows in memory
    stream(server, {"Content-Type": URLENCODED, "Content-Length": str(small)}, urlencoded(small))
    stream(
        server,
        {"Content-Type": URLENCODED, "Transfer-Encoding": "chunked"},
        chunked(urlencoded(small)),
    )


def _assert_refused_early(server: Server, sent: Sent, before_kb: int) -> None:
    assert sent.status == 413, sent.reply[:300]
    assert b"What you sent is too large" in sent.reply
    assert b'href="/static/style.css"' in sent.reply  # the site's own page, not gunicorn's
    # Answered while most of the body was still unsent; what went out sits in socket buffers.
    assert sent.body_bytes_sent < HUGE // 8
    grown = server.peak_rss_kb() - before_kb
    assert grown < FLAT_RSS_KB, f"the worker grew by {grown} kB"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_huge_urlencoded_body_gets_413_before_it_is_read(gunicorn, framing):
    _warm_up(gunicorn)
    before = gunicorn.peak_rss_kb()
    if framing == "chunked":
        headers = {"Content-Type": URLENCODED, "Transfer-Encoding": "chunked"}
        sent = stream(gunicorn, headers, chunked(urlencoded(HUGE)))
    else:
        headers = {"Content-Type": URLENCODED, "Content-Length": str(HUGE + 32)}
        sent = stream(gunicorn, headers, urlencoded(HUGE))
    _assert_refused_early(gunicorn, sent, before)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_huge_multipart_body_gets_413_and_never_touches_the_temp_dir(gunicorn, framing):
    _warm_up(gunicorn)
    before = gunicorn.peak_rss_kb()
    if framing == "chunked":
        headers = {"Content-Type": MULTIPART, "Transfer-Encoding": "chunked"}
        sent = stream(gunicorn, headers, chunked(multipart(HUGE)))
    else:
        size = sum(len(piece) for piece in multipart(HUGE))
        headers = {"Content-Type": MULTIPART, "Content-Length": str(size)}
        sent = stream(gunicorn, headers, multipart(HUGE))
    _assert_refused_early(gunicorn, sent, before)
    assert sent.temp_files == []
    assert list(gunicorn.temp_dir.iterdir()) == []


def test_the_server_keeps_serving_after_refusing_a_huge_body(gunicorn):
    headers = {"Content-Type": URLENCODED, "Content-Length": str(HUGE + 32)}
    assert stream(gunicorn, headers, urlencoded(HUGE)).status == 413
    status, _, page = Browser(gunicorn.port).get("/login")
    assert status == 200 and "Log in" in page


def test_gunicorn_refuses_an_overlong_request_line_and_too_many_headers(gunicorn):
    def ask(head: str) -> bytes:
        with socket.create_connection(("127.0.0.1", gunicorn.port), timeout=30) as sock:
            sock.sendall(head.encode() + b"\r\n")
            return _read_reply(sock)

    long_line = ask(f"GET /login?next=/{'a' * 3000} HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert long_line.startswith(b"HTTP/1.1 414"), long_line[:200]
    headers = "".join(f"X-Filler-{n}: {n}\r\n" for n in range(60))
    many_headers = ask(f"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}")
    assert many_headers.startswith(b"HTTP/1.1 431"), many_headers[:200]
    assert ask("GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n").startswith(
        b"HTTP/1.1 200"
    )
