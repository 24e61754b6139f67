"""/metrics under a real 2-worker gunicorn (gunicorn.conf.py, with and without --preload):
every worker's counters summed through prometheus_client's multiprocess mode, read with its
own text parser, and matching what the SMTP server on loopback received."""

from __future__ import annotations

import http.client
import os
import signal

import pytest
from sqlalchemy import text

from tests.conftest import wait_for
from tests.metrics_helpers import TOKEN, parse, total, value
from tests.test_gunicorn import Gunicorn, _enqueue, _statuses, database  # noqa: F401 - fixture

pytestmark = pytest.mark.slow
MESSAGES = 40


def fetch_metrics(port: int, token: str | None = TOKEN) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        conn.request("GET", "/metrics", headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.fixture
def served(tmp_path):
    started = []

    def start(url: str, smtp_port: int, preload: bool) -> Gunicorn:
        server = Gunicorn(url, smtp_port, tmp_path / "gunicorn.log", preload)
        server.env["METRICS_TOKEN"] = TOKEN
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.end()


@pytest.mark.parametrize("preload", [False, True], ids=["fork", "preload"])
def test_metrics_sum_both_workers_and_match_the_smtp_server(
    database,  # noqa: F811 - the fixture imported above
    make_smtp,
    served,
    preload,
):
    url, engine = database
    # 50 ms a message: claims stay small, so the senders of both workers get a share.
    smtp = make_smtp(delay=0.05)
    smtp.handler.rcpt_faults.append("550 5.1.1 <user0@example.com>: Recipient address rejected")
    smtp.faults.append("451 4.3.0 Try again later")
    server = served(url, smtp.port, preload)
    assert fetch_metrics(server.port, token=None)[0] == 401
    _enqueue(url, MESSAGES)
    wait_for(lambda: _statuses(engine)["sent"] == MESSAGES - 1, timeout=60)
    wait_for(lambda: _statuses(engine)["failed"] == 1, timeout=30)
    with engine.connect() as conn:
        workers = set(conn.execute(text("SELECT pid FROM mail_sender")).scalars())
        senders = set(conn.execute(text("SELECT sender_name FROM mail_attempt")).scalars())
    assert len(workers) == 2

    status, body = fetch_metrics(server.port)
    assert status == 200
    samples = parse(body)
    sent = total(samples, "mailroom_deliveries_total", outcome="sent")
    assert sent == len(smtp.messages) == MESSAGES - 1
    assert total(samples, "mailroom_deliveries_total", outcome="retried") == 1
    assert total(samples, "mailroom_deliveries_total", outcome="failed") == 1
    assert total(samples, "mailroom_mail_enqueued_total") == 0  # queued by another process
    assert value(samples, "mailroom_smtp_replies_total", **{"class": "2xx"}) == MESSAGES - 1
    assert value(samples, "mailroom_smtp_replies_total", **{"class": "4xx"}) == 1
    assert value(samples, "mailroom_smtp_replies_total", **{"class": "5xx"}) == 1
    assert total(samples, "mailroom_send_duration_seconds_count") == MESSAGES + 1
    assert value(samples, "mailroom_bounces_total", kind="hard_bounce", source="smtp") == 1
    # The gauges: read from the database, once, not summed per worker.
    assert value(samples, "mailroom_outbox_messages", status="sent") == MESSAGES - 1
    assert value(samples, "mailroom_outbox_messages", status="failed") == 1
    assert value(samples, "mailroom_senders_alive") == 4
    assert value(samples, "mailroom_suppressed_addresses") == 1
    # Both workers sent (each process's counters are in its own file, summed on scrape);
    # whichever worker answers the scrape, the totals are the same.
    assert len({name.split(":")[1] for name in senders}) == 2
    again = parse(fetch_metrics(server.port)[1])
    assert total(again, "mailroom_deliveries_total", outcome="sent") == sent


def _metrics_folder_of(pid: int) -> str:
    """The directory a worker counts into: its counters' files are mapped into its memory."""
    with open(f"/proc/{pid}/maps") as maps:
        paths = [line.split()[-1] for line in maps if line.rstrip().endswith(".db")]
    return os.path.dirname(next(p for p in paths if "mailroom-metrics-" in p))


def test_the_metrics_directory_outlives_a_reload_and_goes_on_exit(
    database,  # noqa: F811 - the fixture imported above
    smtp,
    served,
):
    url, engine = database
    server = served(url, smtp.port, False)
    _enqueue(url, 3)
    wait_for(lambda: _statuses(engine)["sent"] == 3, timeout=30)
    with engine.connect() as conn:
        sent_by = conn.execute(text("SELECT sender_name FROM mail_attempt")).scalars().first()
    folder = _metrics_folder_of(int(sent_by.split(":")[1]))
    server.signal(signal.SIGHUP)  # new workers; the old ones' counts stay in the folder
    wait_for(lambda: "Hang up" in server.log() or "Reloading" in server.log(), timeout=30)
    wait_for(lambda: fetch_metrics(server.port)[0] == 200, timeout=30)
    samples = parse(fetch_metrics(server.port)[1])
    assert total(samples, "mailroom_deliveries_total", outcome="sent") == 3
    assert os.path.isdir(folder)
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    assert not os.path.exists(folder)
