"""What every benchmark script shares: the app it measures, test certificates, statistics
and the table it prints. Importing it puts the project root on sys.path (the scripts run
as `.venv/bin/python bench/<script>.py`), so import it before `app`.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import logging
import math
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trustme  # noqa: E402
from flask import Flask  # noqa: E402
from smtp_process import ServerSpec, SmtpProcess  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.mail import outbox  # noqa: E402
from app.mail.compose import ComposedMail  # noqa: E402
from app.mail.models import SENT, OutboxMessage  # noqa: E402
from app.mail.sender import start_senders, stop_senders  # noqa: E402

SENDER = "Mailroom <no-reply@mailroom.example>"
CREDENTIALS = ("bench", "bench-password")


@functools.cache
def scratch() -> Path:
    """A temporary folder for the database, certificates and log, removed at exit.
    Made on first use: the SMTP server's process imports this module too."""
    path = Path(tempfile.mkdtemp(prefix="mailroom-bench-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def arguments(description: str, **sizes: int) -> argparse.Namespace:
    """--database-url (SQLite in a scratch folder by default) and one option per size."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="SQLAlchemy URL; its tables are dropped and created (never point it at real data)",
    )
    for name, default in sizes.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    return parser.parse_args()


def quiet_logs() -> Path:
    """The pipeline logs one line per mail: keep it (it is part of the cost) but in a file."""
    path = scratch() / "bench.log"
    logging.basicConfig(filename=path, level=logging.INFO, force=True)
    return path


def default_database_url() -> str:
    return f"sqlite:///{scratch() / 'bench.db'}"


def bench_config(database_url: str, **overrides) -> dict:
    """Production settings (TESTING off, debug off); senders are started by the bench itself."""
    config = {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "APP_BASE_URL": "https://mailroom.example",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_DEFAULT_SENDER": SENDER,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_TIMEOUT": 30.0,
        "MAIL_AUTOSTART_SENDERS": False,
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return config


def fresh_app(config: dict) -> Flask:
    app = create_app(config)
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def timed_drain(
    app: Flask, mails: list[ComposedMail], threads: int, server: SmtpProcess, fresh: bool = False
) -> float:
    """Enqueue everything first (untimed); then the seconds from starting `threads` senders
    until every row is `sent`. Needs the app context; `fresh` empties the tables first."""
    if fresh:
        db.session.remove()
        db.drop_all()
        db.create_all()
    for start in range(0, len(mails), 500):
        for mail in mails[start : start + 500]:
            outbox.enqueue(mail)
        db.session.commit()
    sent = db.select(db.func.count()).where(OutboxMessage.status == SENT)
    expected = server.received + len(mails)
    started = time.perf_counter()
    start_senders(app, threads)
    try:
        # Watch the server's counter (shared memory) first: polling the database all along
        # would take CPU and locks from the senders being measured.
        wait_until(lambda: server.received >= expected, 300)
        done = wait_until(lambda: db.session.scalar(sent) == len(mails), 60, every=0.002)
    finally:
        stop_senders(app, timeout=10)
    return done - started


class Certs:
    """A test CA (the client trusts it through MAIL_CA_FILE) and a server certificate."""

    def __init__(self):
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_path = str(scratch() / "ca.pem")
        self.chain_path = str(scratch() / "server-chain.pem")
        self.key_path = str(scratch() / "server-key.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        cert.private_key_and_cert_chain_pem.write_to_path(self.chain_path)
        cert.private_key_pem.write_to_path(self.key_path)

    def starttls_server(self, **spec) -> SmtpProcess:
        """STARTTLS required, then AUTH required: what a submission port (587) asks."""
        return SmtpProcess(
            ServerSpec(
                starttls=True, cert=(self.chain_path, self.key_path), auth=CREDENTIALS, **spec
            )
        )

    def mail_settings(self, server: SmtpProcess) -> dict:
        return {
            "MAIL_PORT": server.port,
            "MAIL_USE_TLS": True,
            "MAIL_USERNAME": CREDENTIALS[0],
            "MAIL_PASSWORD": CREDENTIALS[1],
            "MAIL_CA_FILE": self.ca_path,
        }


def wait_until(predicate: Callable[[], object], timeout: float, every: float = 0.01) -> float:
    """Poll `predicate` until true; returns the time.perf_counter() when it was seen true."""
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"not done within {timeout:.0f} s")
        time.sleep(every)
    return time.perf_counter()


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile: a value that was really observed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def print_header(title: str, database_url: str) -> None:
    kind = database_url.split(":", 1)[0]
    print(f"\n== {title}")
    print(
        f"   {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs "
        f"(load average {os.getloadavg()[0]:.1f}), Python {platform.python_version()}, "
        f"database {kind}"
    )


def print_table(headers: list[str], rows: list[list[object]]) -> None:
    cells = [headers] + [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print(
            "   "
            + "  ".join(
                text.rjust(w) if i else text.ljust(w)
                for i, (text, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if index == 0:
            print("   " + "  ".join("-" * w for w in widths))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def verdict(label: str, value: float, target: str, met: bool) -> None:
    print(f"   {label}: {value:.2f} (target {target}): {'MET' if met else 'MISSED'}")
