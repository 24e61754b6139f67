"""(c) Do sender threads share the work? Drain time of the same messages through an SMTP
server that takes 200 ms per message (own process), with 1, 2, 4 and 8 sender threads,
and how many messages each thread sent.
"""

from __future__ import annotations

from collections import Counter

import common
from smtp_process import ServerSpec, SmtpProcess

from app.extensions import db
from app.mail.compose import compose
from app.mail.models import DeliveryAttempt

THREAD_COUNTS = (1, 2, 4, 8)


def messages_per_thread() -> list[int]:
    """Messages sent by each sender thread, busiest first."""
    names = db.session.scalars(db.select(DeliveryAttempt.sender_name)).all()
    return sorted(Counter(names).values(), reverse=True)


def run(url: str, server: SmtpProcess, count: int, threads: int) -> tuple[float, list[int]]:
    app = common.fresh_app(
        common.bench_config(url, MAIL_PORT=server.port, MAIL_SENDER_THREADS=threads)
    )
    try:
        with app.app_context():
            mails = [compose(f"reader{i}@example.org", "test_email") for i in range(count)]
            seconds = common.timed_drain(app, mails, threads, server)
            return seconds, messages_per_thread()
    finally:
        common.dispose(app)


def report(results: dict[int, tuple[float, list[int]]], count: int, delay: float) -> None:
    one = results[1][0]
    rows = []
    for threads, (seconds, shares) in results.items():
        ideal = count * delay / threads
        spread = "/".join(str(n) for n in shares)
        rows.append([threads, count, seconds, ideal, one / seconds, spread])
    common.print_table(
        ["threads", "n", "seconds", "ideal s", "speedup vs 1", "messages per thread"], rows
    )
    speedup = one / results[8][0]
    common.verdict("8 threads vs 1 thread", speedup, ">= 6.5", speedup >= 6.5)


def main() -> None:
    args = common.arguments(__doc__, messages=80, smtp_delay_ms=200)
    url = args.database_url or common.default_database_url()
    common.quiet_logs()
    common.print_header("(c) sender threads against a server taking 200 ms per message", url)
    delay = args.smtp_delay_ms / 1000
    results = {}
    with SmtpProcess(ServerSpec(delay=delay)) as server:
        for threads in THREAD_COUNTS:
            server.reset()
            results[threads] = run(url, server, args.messages, threads)
            if server.received != args.messages:
                raise RuntimeError(f"the server received {server.received}/{args.messages}")
    print(
        f"   SMTP server: plain SMTP, {args.smtp_delay_ms} ms per message, own process; "
        f"default MAIL_BATCH_SIZE"
    )
    report(results, args.messages, delay)


if __name__ == "__main__":
    main()
