"""gunicorn settings for Mailroom: `gunicorn -c gunicorn.conf.py` (what `make serve` runs).

Each value can be changed from the environment (or `.env`), named below. The hooks put the
mail sender threads in every worker after the fork, never in the master, with or without
--preload, and stop them on the way out: the message in hand finishes, the rest of the
worker's claims go back to the outbox, so a SIGTERM or a HUP reload loses no mail. They
also keep the metrics directory that lets /metrics count across workers.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

# Run from anywhere: the project root holds config.py and wsgi.py.
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import config as settings  # noqa: E402

_config, _ = settings.load_environment()  # the app reports any problem when it loads
# A sender may spend up to 4 x MAIL_TIMEOUT on the message in hand (connect, TLS, AUTH, DATA)
# before it can stop: give a stopping worker that long, plus a margin, before the SIGKILL.
_mail_timeout = _config["MAIL_TIMEOUT"]
_stop_allowance = int(4 * _mail_timeout) + 10


# Metrics: every worker counts into its own files in one directory, and /metrics sums them
# (prometheus_client's multiprocess mode). The variable must be set before anything imports
# prometheus_client, so here, in the master, before the app loads. PROMETHEUS_MULTIPROC_DIR
# names it; otherwise a fresh temporary one, removed on exit. A HUP reload reads this file
# again and keeps the directory (the variable is set by then).
# Only when gunicorn itself reads this file: a tool or test reading it must not turn its own
# process's metrics into files.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR") and "gunicorn" in sys.argv[0]:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mailroom-metrics-")
    # Remembered in the environment: a HUP reload runs this file again, and on_exit must
    # still know the directory is ours to remove.
    os.environ["MAILROOM_MADE_METRICS_DIR"] = os.environ["PROMETHEUS_MULTIPROC_DIR"]
_made_metrics_dir = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")) and os.environ.get(
    "MAILROOM_MADE_METRICS_DIR"
) == os.environ.get("PROMETHEUS_MULTIPROC_DIR")
_metrics_dir = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.gettempdir())


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "wsgi:app"
chdir = str(ROOT)
# GUNICORN_BIND: where to listen. Loopback by default: put a reverse proxy in front.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
# WEB_CONCURRENCY: worker processes (each runs MAIL_SENDER_THREADS senders).
workers = _env_int("WEB_CONCURRENCY", 2)
# GUNICORN_THREADS: request threads per worker (gthread above 1), so a slow client does not
# hold a whole worker.
threads = _env_int("GUNICORN_THREADS", 4)
# GUNICORN_TIMEOUT: a worker silent this long is killed. A stopping worker is silent while
# its senders finish, so this is never below the sender allowance either.
timeout = max(_env_int("GUNICORN_TIMEOUT", 30), _stop_allowance)
# GUNICORN_GRACEFUL_TIMEOUT: time for a stopping worker to finish requests and its senders.
graceful_timeout = max(_env_int("GUNICORN_GRACEFUL_TIMEOUT", 30), _stop_allowance)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# GUNICORN_MAX_REQUESTS: recycle a worker after this many requests (0 = never); senders hand
# back their claims when it goes.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
# GUNICORN_PRELOAD=true: import the app once in the master (faster forks, no hot reload).
preload_app = os.environ.get("GUNICORN_PRELOAD", "").lower() in settings.TRUE_WORDS
# Limits on what a client may send before the app sees it (bodies are capped by the app:
# MAX_CONTENT_LENGTH). The longest URL here is a login redirect carrying an outbox filter
# (about 600 bytes); browsers send about 20 headers and the session cookie is under 1 KB.
limit_request_line = 2048
limit_request_fields = 50
limit_request_field_size = 8190
# No access log by default: request lines carry confirmation and reset tokens in their URLs.
# GUNICORN_ACCESS_LOG=- writes one to stderr; the proxy's log usually does this job.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn's control socket defaults to one path per user: two instances on a host would
# fight over it. Opt in with GUNICORN_CONTROL_SOCKET=/path/to/gunicorn.ctl.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


def _flask_app(candidate):
    from flask import Flask

    return candidate if isinstance(candidate, Flask) else None


def on_starting(server):
    """Counters start at zero with each start of gunicorn: files left by an earlier run
    (a kill -9) would otherwise be summed in."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in _metrics_dir.glob("*.db"):
        stale.unlink()


def on_exit(server):
    if _made_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


def child_exit(server, worker):
    """A dead worker's live gauges go with it (its counters stay: they are totals)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_metrics_dir))


def post_fork(server, worker):
    """With --preload the app was built in the master: never share its database connections."""
    app = _flask_app(getattr(worker.app, "callable", None))
    if app is None:
        return
    from app.extensions import db

    with app.app_context():
        db.engine.dispose(close=False)


def post_worker_init(worker):
    """The worker's app is loaded (worker.wsgi): start its sender threads here."""
    app = _flask_app(worker.wsgi)
    if app is None or not app.config.get("MAIL_AUTOSTART_SENDERS", True):
        return
    from app.mail.sender import start_senders

    start_senders(app)


def worker_exit(server, worker):
    """Finish the message in hand and hand the other claims back (no-op in the master)."""
    app = _flask_app(getattr(worker, "wsgi", None))
    if app is None:
        return
    from app.mail.sender import stop_senders

    stop_senders(app, timeout=4 * _mail_timeout + 1)
