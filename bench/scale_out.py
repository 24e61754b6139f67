"""(g) Scale out: does the outbox drain faster with more `flask mail worker` processes?
N messages queued on PostgreSQL, an SMTP server taking 200 ms per message (own process),
drained by 1 worker with 1 thread, then by 4 workers with 2 threads each (real processes),
each timed from starting the processes; start-up is shown apart, also as each worker's CPU.

    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/scale_out.py
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import common
from smtp_process import ServerSpec, SmtpProcess
from soak_fleet import APP_VARIABLES

from app import create_app
from app.extensions import db
from app.mail import outbox
from app.mail.compose import compose
from app.mail.models import SENT, DeliveryAttempt, OutboxMessage, SenderState

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_h"
FLASK = [str(common.ROOT / ".venv/bin/flask"), "--app", "wsgi", "mail", "worker"]
SETUPS = ((1, 1), (4, 2))  # (processes, threads each)
TARGET = 7.0
DRAIN_DEADLINE = 600.0  # seconds: 160 messages one at a time take 32 s
# An untimed drain first, by one worker: it fills the bytecode cache as a deploy's first start
# would (this environment may say PYTHONDONTWRITEBYTECODE; a server keeps its .pyc files).
WARM_UP_MESSAGES = 8
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Drain:
    processes: int
    threads: int
    seconds: float  # from starting the processes to every row `sent`
    startup: float  # from starting the processes to the first message at the server
    all_up: float  # from starting the processes to every sender thread registered
    startup_cpu: list[float]  # CPU seconds each worker had used when its senders registered
    per_process: list[int]  # messages each process sent, busiest first

    @property
    def senders(self) -> int:
        return self.processes * self.threads


def worker_env(url: str, smtp_port: int) -> dict[str, str]:
    """Production settings through the environment only, as a deploy would give them; a
    developer's exported MAIL_* or DATABASE_URL must not leak in."""
    base = {k: v for k, v in os.environ.items() if not APP_VARIABLES.match(k)}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    return {
        **base,
        # Bytecode in the scratch folder, not beside the sources of a shared working tree.
        "PYTHONPYCACHEPREFIX": str(common.scratch() / "pycache"),
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "APP_BASE_URL": "https://mailroom.example",
        "DATABASE_URL": url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_DEFAULT_SENDER": common.SENDER,
        "MAIL_USE_TLS": "false",
        "MAIL_USE_SSL": "false",
        "MAIL_USERNAME": "",
        "MAIL_PASSWORD": "",
        "RATELIMIT_ENABLED": "false",
    }


def enqueue(url: str, count: int, smtp_port: int) -> None:
    """Empty tables and `count` queued messages, committed before any worker starts."""
    app = common.fresh_app(common.bench_config(url, MAIL_PORT=smtp_port))
    try:
        with app.app_context():
            for i in range(count):
                outbox.enqueue(compose(f"reader{i}@example.org", "test_email"))
            db.session.commit()
    finally:
        common.dispose(app)


def start_workers(processes: int, threads: int, env: dict, log: Path) -> list[subprocess.Popen]:
    started = []
    with open(log, "ab") as out:
        for _ in range(processes):
            command = [*FLASK, "--threads", str(threads)]
            started.append(
                subprocess.Popen(
                    command, cwd=common.ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
                )
            )
    return started


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """SIGTERM (the worker finishes its message and exits), SIGKILL past the deadline."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


def sent_per_process() -> list[int]:
    """Messages each worker process sent, from the attempt log (sender name host:pid:...)."""
    names = db.session.scalars(
        db.select(DeliveryAttempt.sender_name).where(DeliveryAttempt.outcome == "sent")
    ).all()
    return sorted(Counter(name.split(":")[1] for name in names).values(), reverse=True)


def drain(url: str, server: SmtpProcess, count: int, processes: int, threads: int) -> Drain:
    enqueue(url, count, server.port)
    server.reset()
    app = create_app(common.bench_config(url, MAIL_PORT=server.port))  # tables kept
    log = common.scratch() / "workers.log"
    try:
        with app.app_context():
            sent = db.select(db.func.count()).where(OutboxMessage.status == SENT)
            started = time.perf_counter()
            workers = start_workers(processes, threads, worker_env(url, server.port), log)
            try:
                first, all_up, cpu = watch_start(workers, server, threads)
                common.wait_until(lambda: _alive(workers) and server.received >= count, 600)
                done = common.wait_until(lambda: _sent(sent) == count, 60, every=0.005)
            finally:
                stop_workers(workers)
            startup, ready = first - started, all_up - started
            per_process = sent_per_process()
            return Drain(processes, threads, done - started, startup, ready, cpu, per_process)
    finally:
        common.dispose(app)


def watch_start(workers: list[subprocess.Popen], server: SmtpProcess, threads: int):
    """The perf_counter times of the first message at the server and of the last sender
    thread registering (with several processes starting on few cores, they differ), and the
    CPU seconds each worker had used by the time all its sender threads had registered:
    its start-up cost, which wall times on a shared machine blur."""
    registered = db.select(SenderState.pid, db.func.count()).group_by(SenderState.pid)
    first = all_up = None
    cpu: dict[int, float] = {}
    deadline = time.perf_counter() + 120
    for polls in itertools.count():
        if first is not None and all_up is not None:
            break
        _alive(workers)
        now = time.perf_counter()
        if first is None and server.received >= 1:
            first = now
        # The database every 50 ms only: a query costs CPU here and in PostgreSQL, taken
        # from the workers starting up on the same cores (the counter is shared memory).
        if all_up is None and polls % 5 == 0:
            for pid, senders in _rows(registered):
                if senders >= threads and pid not in cpu:
                    cpu[pid] = cpu_seconds(pid)
            if len(cpu) == len(workers):
                all_up = now
        if now > deadline:
            raise TimeoutError("the workers did not start within 120 s")
        time.sleep(0.01)
    return first, all_up, sorted(cpu.values())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _alive(workers: list[subprocess.Popen]) -> bool:
    if ended := [w.returncode for w in workers if w.poll() is not None]:
        raise RuntimeError(f"a worker exited with {ended}: see {common.scratch()}/workers.log")
    return True


def _sent(statement) -> int:
    count = db.session.scalar(statement)
    db.session.rollback()  # a fresh snapshot each poll
    return count


def _rows(statement) -> list:
    rows = db.session.execute(statement).all()
    db.session.rollback()
    return rows


def report(one: Drain, many: Drain, count: int, delay: float) -> None:
    rows = []
    for run in (one, many):
        ideal = count * delay / run.senders
        rows.append(
            [
                f"{run.processes} x {run.threads}",
                count,
                run.seconds,
                run.startup,
                run.seconds - run.startup,
                run.all_up,
                f"{sum(run.startup_cpu) / len(run.startup_cpu):.2f}/{max(run.startup_cpu):.2f}",
                ideal,
                count / run.seconds,
                "/".join(str(n) for n in run.per_process),
            ]
        )
    common.print_table(
        [
            "workers x threads",
            "n",
            "seconds",
            "to first",
            "after first",
            "all up",
            "CPU to up",
            "ideal s",
            "msg/s",
            "per process",
        ],
        rows,
    )
    ratio = one.seconds / many.seconds
    steady = (one.seconds - one.startup) / (many.seconds - many.startup)
    print(f"   ratio excluding start-up (from the first message at the server): {steady:.2f}x")
    label = "4 x 2 vs 1 x 1, drain time from start"
    common.verdict(label, ratio, f">= {TARGET:g}", ratio >= TARGET)


def main() -> None:
    args = common.arguments(__doc__, messages=160, smtp_delay_ms=200)
    url = args.database_url or DEFAULT_URL
    if not url.startswith("postgresql"):
        raise SystemExit("scale_out runs on PostgreSQL: --database-url postgresql+psycopg://…")
    common.quiet_logs()
    common.print_header("(g) scale out: worker processes against 200 ms per message", url)
    delay = args.smtp_delay_ms / 1000
    results = []
    with SmtpProcess(ServerSpec(delay=delay)) as server:
        drain(url, server, WARM_UP_MESSAGES, 1, 1)
        for processes, threads in SETUPS:
            results.append(drain(url, server, args.messages, processes, threads))
            if server.received != args.messages:
                raise RuntimeError(f"the server received {server.received}/{args.messages}")
    print(
        f"   SMTP server: plain SMTP, {args.smtp_delay_ms} ms per message, own process; "
        f"workers: `flask mail worker --threads T`, APP_ENV=production, default MAIL_* timings"
    )
    print(
        f"   after an untimed warm-up drain of {WARM_UP_MESSAGES} (bytecode cached); "
        "CPU to up: CPU seconds per worker until its senders registered, mean/max"
    )
    report(*results, args.messages, delay)


if __name__ == "__main__":
    main()
