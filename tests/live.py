"""Talking to a real server process over HTTP (gunicorn, `make run`), as a browser would.

Cookies are carried by hand: in production the session cookie is marked Secure, which
an HTTP client would refuse to send back over plain http://127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
# Settings a developer's shell may export; a server started by a test must not inherit them.
APP_VARIABLES = re.compile(
    r"^(APP_|DATABASE_URL|SECRET_KEY|MAIL_|RATELIMIT_|PROXY_FIX|GUNICORN_|FLASK_)"
)


def clean_environment(**settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not APP_VARIABLES.match(k)}
    env.update({k: str(v) for k, v in settings.items()})
    return env


class Browser:
    """One client: keeps its own cookies, follows nothing automatically."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, text

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, form: dict):
        return self.request("POST", path, form)

    def sign_up(self, email: str) -> int:
        status, _, page = self.get("/signup")
        assert status == 200, page[:500]
        form = {"csrf_token": csrf_token(page), "email": email}
        status, headers, page = self.post("/signup", form)
        assert status == 302, f"sign-up answered {status}: {page[:500]}"
        return status


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def wait_until_serving(port: int, process: subprocess.Popen, path="/healthz", timeout=60.0):
    """Poll until `path` answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode} before serving")
        try:
            status, _, body = Browser(port).get(path)
            if status == 200:
                return
            last = f"{status} {body[:300]}"
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise AssertionError(f"not serving {path} on port {port} after {timeout}s: {last}")


def end_process_group(process: subprocess.Popen, first=signal.SIGTERM, wait=30.0) -> None:
    """Stop what a test started (a session of its own): `first`, then SIGKILL if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, first)
            process.wait(wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(10)
