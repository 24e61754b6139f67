"""`flask mail worker` processes serve no HTTP: they count into PROMETHEUS_MULTIPROC_DIR and
`flask metrics serve` sums them behind the same bearer token."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import wait_for
from tests.live import clean_environment
from tests.metrics_helpers import TOKEN, parse, total, value
from tests.outbox_workers import ROOT, worker_pool
from tests.smtp_server import free_port
from tests.test_gunicorn import _enqueue, _statuses, database  # noqa: F401 - fixture
from tests.test_metrics_gunicorn import fetch_metrics

pytestmark = pytest.mark.slow
MESSAGES = 20


@pytest.fixture
def workers(tmp_path):
    with worker_pool(tmp_path) as start:
        yield start


@pytest.fixture
def metrics_server(tmp_path):
    started = []

    def start(env: dict) -> int:
        port = free_port()
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "metrics", "serve"]
        log = open(tmp_path / "metrics.log", "wb")  # noqa: SIM115 - closed at teardown
        process = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append((process, log))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if fetch_metrics(port, token=None)[0] == 401:
                    return port
            except OSError:
                time.sleep(0.1)
        raise AssertionError((tmp_path / "metrics.log").read_text())

    yield start
    for process, log in started:
        process.terminate()
        process.wait(10)
        log.close()


def test_two_workers_counters_are_summed_by_flask_metrics_serve(
    database,  # noqa: F811 - the fixture imported above
    make_smtp,
    workers,
    metrics_server,
    tmp_path,
):
    url, engine = database
    smtp = make_smtp(delay=0.02)
    smtp.faults.append("451 4.3.0 Try again later")
    folder = tmp_path / "metrics"
    folder.mkdir()
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "METRICS_TOKEN": TOKEN}
    first = workers(url, smtp.port, extra_env=shared)
    second = workers(url, smtp.port, extra_env=shared)
    _enqueue(url, MESSAGES)
    wait_for(lambda: _statuses(engine)["sent"] == MESSAGES, timeout=60)
    env = clean_environment(
        APP_ENV="production",
        SECRET_KEY=os.urandom(24).hex(),
        APP_BASE_URL="https://mailroom.example",
        DATABASE_URL=url,
        MAIL_SERVER="127.0.0.1",
        MAIL_DEFAULT_SENDER="Mailroom <no-reply@mailroom.example>",
        **shared,
    )
    port = metrics_server(env)
    status, body = fetch_metrics(port)
    assert status == 200
    samples = parse(body)
    assert total(samples, "mailroom_deliveries_total", outcome="sent") == len(smtp.messages)
    assert len(smtp.messages) == MESSAGES
    assert total(samples, "mailroom_deliveries_total", outcome="retried") == 1
    assert value(samples, "mailroom_smtp_replies_total", **{"class": "4xx"}) == 1
    assert value(samples, "mailroom_outbox_messages", status="sent") == MESSAGES
    assert value(samples, "mailroom_senders_alive") == 4
    # Each worker counted into files of its own.
    pids = {str(first.process.pid), str(second.process.pid)}
    assert {name.split("_")[-1].split(".")[0] for name in os.listdir(folder)} <= pids
    assert fetch_metrics(port, token="wrong")[0] == 401
    assert first.stop() == 0 and second.stop() == 0
