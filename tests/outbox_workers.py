"""`flask mail worker` as a real process for tests, configured only through its environment;
optionally with its clock moved (libfaketime), as a host whose clock is off would run it."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKER = [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "worker"]
# Debian's libfaketime (package libfaketime, pulled in by faketime).
FAKETIME_LIBRARY = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")


def faketime_env(offset: str) -> dict[str, str]:
    """Environment that runs a process with its clock moved by `offset` (e.g. "+3m")."""
    if not FAKETIME_LIBRARY.exists():
        message = f"libfaketime is not installed ({FAKETIME_LIBRARY}): apt install faketime"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)  # on CI nothing is skipped (.ci/run installs it)
        pytest.skip(message)
    return {
        "LD_PRELOAD": str(FAKETIME_LIBRARY),
        "FAKETIME": offset,
        # Wall clock only: timeouts measured on the monotonic clock stay true.
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


class Worker:
    """One `flask mail worker` process, configured only through its environment."""

    def __init__(
        self, log_path: Path, database_url: str, smtp_port: int, extra_env=None, **settings
    ):
        # A metrics folder another test left in this process's environment may be gone by
        # now: a worker counts into one only when its test asks for it.
        inherited = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env = {
            **inherited,
            "APP_ENV": "production",
            # Production refuses a short or guessable key.
            "SECRET_KEY": secrets.token_hex(32),
            "APP_BASE_URL": "https://mailroom.example",
            "DATABASE_URL": database_url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "MAIL_DEFAULT_SENDER": "Mailroom <no-reply@mailroom.example>",
            # Blank values win over anything a developer's .env says.
            "MAIL_USE_TLS": "false",
            "MAIL_USE_SSL": "false",
            "MAIL_USERNAME": "",
            "MAIL_PASSWORD": "",
            "MAIL_ALLOWLIST": "",
            "MAIL_POLL_INTERVAL": "0.05",
            "MAIL_RETRY_BASE": "0.05",
            "MAIL_TRANSPORT_BACKOFF_MAX": "0.5",
            "MAIL_SENDER_THREADS": "2",
            "PYTHONUNBUFFERED": "1",
            **{key: str(value) for key, value in settings.items()},
            **(extra_env or {}),
        }
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                WORKER, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM, as a deploy would: the worker hands back its claims and exits 0."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log_path.read_text()

    def ensure_ended(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def worker_pool(folder: Path) -> Iterator[Callable[..., Worker]]:
    """`start(database_url, smtp_port, extra_env=None, **settings)` starts one worker; all
    are ended when the block ends (for a test module's `workers` fixture)."""
    started: list[Worker] = []

    def start(database_url: str, smtp_port: int, extra_env=None, **settings) -> Worker:
        log_path = folder / f"worker-{len(started)}.log"
        worker = Worker(log_path, database_url, smtp_port, extra_env, **settings)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.ensure_ended()
