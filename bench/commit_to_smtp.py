"""(d) How soon does a committed message reach the SMTP server when the senders are idle?
From just before `db.session.commit()` of an enqueue to the moment the server (own
process, STARTTLS + AUTH) has the whole DATA, both read from time.time().
Warm: the sender's connection is still open. Cold: the sender closed it while idle.
"""

from __future__ import annotations

import random
import time

import common

from app.extensions import db
from app.mail import send_email
from app.mail import sender as sender_module
from app.mail.sender import start_senders, stop_senders

# Cold samples: the senders close an idle connection after this long (60 s in production,
# shortened here so that a cold sample takes a second, not a minute).
COLD_CLOSE_AFTER_IDLE = 0.3
COLD_POLL_INTERVAL = 0.2


def one_sample(server, number: int) -> float:
    """Seconds from the commit of one enqueue to the server having the message."""
    send_email(f"reader{number}@example.org", "test_email")
    committed = time.time()
    db.session.commit()
    return server.next_receipt(timeout=30) - committed


def warm_samples(server, count: int) -> list[float]:
    samples = []
    for number in range(count + 5):
        # Long enough for the sender to finish marking the last one and go idle again.
        time.sleep(random.uniform(0.03, 0.06))
        latency = one_sample(server, number)
        if number >= 5:
            samples.append(latency)
    return samples


def cold_samples(server, count: int) -> list[float]:
    samples = []
    for number in range(count):
        logins = server.logins
        time.sleep(COLD_CLOSE_AFTER_IDLE + 2 * COLD_POLL_INTERVAL + 0.1)
        samples.append(one_sample(server, 10_000 + number))
        if server.logins != logins + 1:
            raise RuntimeError("a cold sample did not open a new connection")
    return samples


def measure(url: str, certs, server, phase, count: int, **settings) -> list[float]:
    app = common.fresh_app(common.bench_config(url, **certs.mail_settings(server), **settings))
    try:
        with app.app_context():
            start_senders(app)
            try:
                return phase(server, count)
            finally:
                stop_senders(app, timeout=10)
    finally:
        common.dispose(app)


def report(results: dict[str, list[float]]) -> None:
    what = {
        "warm": "connection open, woken by the commit",
        "cold": "connect + STARTTLS + AUTH first",
    }
    rows = []
    for name, values in results.items():
        ms = [v * 1000 for v in values]
        rows.append([name, what[name], len(ms), common.median(ms), common.p95(ms), max(ms)])
    common.print_table(["senders", "state", "n", "median ms", "p95 ms", "max ms"], rows)
    warm = common.median(results["warm"]) * 1000
    common.verdict("warm median ms", warm, "<= 50", warm <= 50)


def main() -> None:
    args = common.arguments(__doc__, samples=200, cold_samples=25)
    url = args.database_url or common.default_database_url()
    common.quiet_logs()
    common.print_header("(d) from commit to the SMTP server, senders idle", url)
    certs = common.Certs()
    results = {}
    with certs.starttls_server(report_receipts=True) as server:
        results["warm"] = measure(url, certs, server, warm_samples, args.samples)
        sender_module.CLOSE_AFTER_IDLE = COLD_CLOSE_AFTER_IDLE
        results["cold"] = measure(
            url,
            certs,
            server,
            cold_samples,
            args.cold_samples,
            MAIL_POLL_INTERVAL=COLD_POLL_INTERVAL,
        )
    print(
        "   2 sender threads, MAIL_POLL_INTERVAL 2 s (the defaults); server in its own process, "
        "STARTTLS + AUTH; times from time.time()"
    )
    report(results)


if __name__ == "__main__":
    main()
