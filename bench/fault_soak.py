"""The fault soak (issue 8): messages on PostgreSQL drained by gunicorn workers and two
`flask mail worker` processes (one of them three minutes ahead) through an SMTP server that
answers late, gives 421s and drops connections, while a random sender process is SIGKILLed
every few seconds. Then it drains, and the soak checks: every message arrived, and a
Message-ID arrived twice only where its send was in flight in a killed process.

    .venv/bin/python bench/fault_soak.py [--messages 2000] [--kill-seconds 120]

Runs in a PostgreSQL database of its own, created on the server of --database-url and
dropped at the end. Exits 0 when every promise held, 1 when one did not, 2 when the soak
itself could not run. Everything listens on 127.0.0.1 and every wait has a deadline.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path

import common
from smtp_process import free_port
from soak_fleet import Fleet, client_ports, connections_to
from soak_outbox import Feeder, ScratchDatabase, final_state, registered_senders, unfinished
from soak_smtp import Faults, SoakSmtp, read_journal
from soak_verdict import Kill, Owners, judge, report

from app import create_app
from app.extensions import db

MAIL_TIMEOUT = 1.0
SKEW = "+3m"
GUNICORN_WORKERS, THREADS = 2, 2
# Senders that can still be finishing a send once the outbox is empty: give them one lease.
QUIET_SECONDS = 4 * MAIL_TIMEOUT + 2


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server; the soak creates a database of its own there and drops it",
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--kill-seconds", type=float, default=120.0)
    parser.add_argument("--kill-every", type=float, default=5.0)
    parser.add_argument("--drain-seconds", type=float, default=300.0, help="deadline after kills")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", type=Path, help="keep the journal, logs and result here")
    parser.add_argument("--json", type=Path, help="write the counts here as JSON")
    return parser.parse_args()


def fleet_settings(database_url: str, smtp_port: int, http_port: int) -> dict:
    """Production settings, sped up where the soak would otherwise wait for nothing."""
    return {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "APP_BASE_URL": f"http://127.0.0.1:{http_port}",
        "DATABASE_URL": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "MAIL_DEFAULT_SENDER": common.SENDER,
        "MAIL_TIMEOUT": MAIL_TIMEOUT,
        "MAIL_SENDER_THREADS": THREADS,
        "MAIL_POLL_INTERVAL": 0.5,
        "MAIL_RETRY_BASE": 0.5,
        "MAIL_RETRY_MAX": 4,
        "MAIL_TRANSPORT_BACKOFF_MAX": 2,
        "RATELIMIT_ENABLED": "false",
        "WEB_CONCURRENCY": GUNICORN_WORKERS,
        "GUNICORN_THREADS": 2,
        "GUNICORN_BIND": f"127.0.0.1:{http_port}",
    }


class Soak:
    def __init__(self, args: argparse.Namespace, folder: Path, database_url: str, faults: Faults):
        self.args, self.folder = args, folder
        self.rng = random.Random(args.seed)
        self.kills: list[Kill] = []
        self.owners = Owners()
        self.smtp = SoakSmtp(folder / "smtp-journal.jsonl", faults)
        settings = fleet_settings(database_url, self.smtp.port, free_port())
        self.app = create_app(
            common.bench_config(
                database_url,
                SECRET_KEY=settings["SECRET_KEY"],
                MAIL_PORT=self.smtp.port,
                MAIL_SENDER_THREADS=0,  # this process only enqueues
            )
        )
        with self.app.app_context():
            db.create_all()
        self.fleet = Fleet(settings, folder / "fleet.log", worker_threads=THREADS)
        self.started = time.time()
        self.problems: list[str] = []
        self.stopped = False

    def run(self) -> bool:
        """Start, kill for --kill-seconds, drain; True when the outbox drained in time."""
        self.fleet.start(SKEW)
        self._wait_for_senders((GUNICORN_WORKERS + 2) * THREADS, 120)
        self.started = time.time()
        feeder = Feeder(self.app, self.args.messages, 0.8 * self.args.kill_seconds)
        feeder.start()
        self._kill_for(self.args.kill_seconds)
        drained = self._drain(feeder, self.args.drain_seconds)
        self.problems = self.fleet.problems()
        feeder.stopping.set()
        feeder.join(30)
        if feeder.error:
            raise RuntimeError(f"enqueueing failed: {feeder.error!r}")
        return drained

    def _wait_for_senders(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.app.app_context():
            while registered_senders() < count:
                if problems := self.fleet.problems():
                    raise RuntimeError(f"a sender process failed to start: {problems}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{count} senders did not start in {timeout:.0f} s")
                time.sleep(0.2)

    def _kill_for(self, seconds: float) -> None:
        """A kill every --kill-every seconds, the last at `seconds`; sampling in between."""
        start = time.monotonic()
        kill_times = [
            start + n * self.args.kill_every
            for n in range(1, 1 + int(seconds // self.args.kill_every))
        ]
        while kill_times:
            self._sample()
            if time.monotonic() >= kill_times[0]:
                kill_times.pop(0)
                self._kill_one()
            time.sleep(0.1)

    def _kill_one(self) -> None:
        senders = self.fleet.senders()
        if not senders:
            return
        victim = self.rng.choice(senders)
        ports = client_ports(victim.pid, connections_to(self.smtp.port))
        # The time is taken before the signal: a 250 written after it is "after the kill".
        at = time.time()
        self.fleet.kill(victim)
        self.kills.append(Kill(at, victim.pid, victim.role, frozenset(ports)))
        for port in ports:
            self.owners.note(port, victim.pid, victim.role, at)

    def _sample(self) -> None:
        connections = connections_to(self.smtp.port)
        now = time.time()
        for sender in self.fleet.senders():
            for port in client_ports(sender.pid, connections):
                self.owners.note(port, sender.pid, sender.role, now)

    def _drain(self, feeder: Feeder, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        with self.app.app_context():
            while True:
                self._sample()
                if not unfinished() and not feeder.is_alive():
                    break
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.2)
        quiet_until = time.monotonic() + QUIET_SECONDS
        while time.monotonic() < quiet_until:
            self._sample()
            time.sleep(0.2)
        return True

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.fleet.stop()
        self.smtp.stop()
        common.dispose(self.app)


def main() -> int:
    args = arguments()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))  # run every `finally` below
    folder = args.keep or common.scratch()
    folder.mkdir(parents=True, exist_ok=True)
    common.quiet_logs()
    faults = Faults(seed=args.seed)
    common.print_header("fault soak", args.database_url)
    print(
        f"   {args.messages} messages; SIGKILL of a random sender process every "
        f"{args.kill_every:g} s for {args.kill_seconds:g} s\n"
        f"   senders: gunicorn ({GUNICORN_WORKERS} workers x {THREADS} threads), "
        f"2 x `flask mail worker` ({THREADS} threads; one at {SKEW}); "
        f"MAIL_TIMEOUT={MAIL_TIMEOUT:g} s (lease {4 * MAIL_TIMEOUT:g} s)\n"
        f"   SMTP faults: {faults}"
    )
    database = ScratchDatabase(args.database_url)
    soak = None
    try:
        soak = Soak(args, folder, database.url, faults)
        try:
            drained = soak.run()
        except RuntimeError as exc:
            print(f"   the soak could not run: {exc} (see {folder / 'fleet.log'}, with --keep)")
            return 2
        soak.stop()
        with soak.app.app_context():
            outbox = final_state()
        journal = read_journal(soak.smtp.journal)
        verdict = judge(journal, soak.kills, outbox)
        took = time.time() - soak.started
        print(f"   drained: {'yes' if drained else 'NO, deadline passed'} ({took:.0f} s in all)")
        report(verdict, soak.owners, soak.started)
        if args.json:
            result = {**verdict.summary(), "drained": drained, "seconds": round(took, 1)}
            args.json.write_text(json.dumps(result, indent=2))
        if args.keep:  # beside the SMTP journal, for a closer look at any repeat
            kills = [{**vars(k), "ports": sorted(k.ports)} for k in soak.kills]
            (folder / "kills.json").write_text(json.dumps(kills, indent=1))
        for problem in soak.problems:
            print(f"   process died on its own: {problem}")
        return 0 if drained and verdict.passed and not soak.problems else 1
    finally:
        if soak is not None:
            soak.stop()
        database.drop()
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
