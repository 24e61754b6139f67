"""The fault soak's sender processes: gunicorn (gunicorn.conf.py, senders in its workers) and
`flask mail worker` processes, one of them with its clock ahead (libfaketime); which of them
are alive, which SMTP connections each holds (from /proc), and a SIGKILL for any of them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
# Settings a developer's shell may export: the fleet must run on the soak's settings only.
APP_VARIABLES = re.compile(
    r"^(APP_|DATABASE_URL|SECRET_KEY|MAIL_|RATELIMIT_|PROXY_FIX|GUNICORN_|FLASK_|WEB_CONC)"
)
_PR_SET_PDEATHSIG = 1
# Looked up once, here: the child between fork and exec must not load anything.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


@dataclass(frozen=True)
class Sender:
    pid: int
    role: str  # "gunicorn", "worker" or "worker+3m"


def _die_with_parent() -> None:
    """In the child before exec: if the soak itself is killed, its fleet goes too (the soak
    starts every process from its main thread, which lives as long as it does)."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Fleet:
    """The sender processes of one soak. `settings` is the app's environment."""

    def __init__(self, settings: dict[str, str], log_path: Path, worker_threads: int = 2):
        base = {k: v for k, v in os.environ.items() if not APP_VARIABLES.match(k)}
        self.env = {**base, **{k: str(v) for k, v in settings.items()}}
        self.log_path = log_path
        self.worker_threads = worker_threads
        self.gunicorn: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}
        self.worker_env: dict[str, dict[str, str]] = {}

    def start(self, skew: str) -> None:
        """gunicorn, a worker on the real clock and one `skew` ahead (FAKETIME, e.g. +3m)."""
        if not Path(FAKETIME_LIB).is_file():
            raise RuntimeError(f"{FAKETIME_LIB} is missing: apt-get install faketime")
        gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
        self.gunicorn = self._spawn(gunicorn, {})
        self.start_worker("worker")
        # The wall clock only, as on a host whose clock is off: with its monotonic clock moved
        # too, libfaketime 0.9.10 makes threading.Event.wait(0.5) last the whole offset, and
        # the senders would sleep through the soak.
        self.start_worker(
            f"worker{skew}",
            LD_PRELOAD=FAKETIME_LIB,
            FAKETIME=skew,
            FAKETIME_DONT_FAKE_MONOTONIC="1",
        )

    def start_worker(self, role: str, **extra: str) -> None:
        command = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "mail", "worker"]
        command += ["--threads", str(self.worker_threads)]
        # A restart keeps the role's environment (its clock).
        extra = self.worker_env.setdefault(role, extra)
        self.workers[role] = self._spawn(command, extra)

    def _spawn(self, command: list[str], extra: dict[str, str]) -> subprocess.Popen:
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(
                command,
                cwd=ROOT,
                env={**self.env, **extra},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - prctl only, no locks taken
            )

    def senders(self) -> list[Sender]:
        """Every live process that runs senders: gunicorn's workers and the mail workers."""
        alive = [Sender(pid, "gunicorn") for pid in children(self.gunicorn.pid)]
        alive += [Sender(p.pid, role) for role, p in self.workers.items() if p.poll() is None]
        return alive

    def kill(self, sender: Sender) -> None:
        """SIGKILL: no hook runs. A killed mail worker is restarted at once, as a service
        manager would; gunicorn's master replaces its own workers."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(sender.pid, signal.SIGKILL)
        if sender.role in self.workers:
            self.workers[sender.role].wait(10)
            self.start_worker(sender.role)

    def problems(self) -> list[str]:
        """Processes that exited on their own (the soak restarts only those it killed)."""
        processes = {"gunicorn": self.gunicorn, **self.workers}
        return [
            f"{role} exited with {process.returncode}"
            for role, process in processes.items()
            if process is not None and process.poll() is not None
        ]

    def stop(self, timeout: float = 40.0) -> None:
        """SIGTERM to each process group (senders finish the message in hand and hand back
        their claims), then SIGKILL for anything still there at the deadline."""
        processes = [p for p in [self.gunicorn, *self.workers.values()] if p is not None]
        for process in processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)
            if process.poll() is None:
                process.wait(10)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    # Each process leads a session of its own (start_new_session): its group is its pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def children(parent: int) -> list[int]:
    """The pids whose parent is `parent` (gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it exited while we looked
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        if int(stat.rpartition(")")[2].split()[1]) == parent:
            found.append(int(entry.name))
    return found


def connections_to(port: int) -> dict[int, int]:
    """Every TCP socket on this host connected to 127.0.0.1:`port`: its inode -> local port."""
    found = {}
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], int(fields[9])
            if remote == f"0100007F:{port:04X}" and inode:
                found[inode] = int(local.rpartition(":")[2], 16)
    return found


def client_ports(pid: int, connections: dict[int, int]) -> set[int]:
    """The local ports of `connections` (see connections_to) that process `pid` holds open."""
    ports = set()
    with contextlib.suppress(OSError):
        for fd in os.scandir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(fd.path)
                if target.startswith("socket:["):
                    inode = int(target[8:-1])
                    if inode in connections:
                        ports.add(connections[inode])
    return ports
