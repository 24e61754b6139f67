"""(b) Drain throughput over STARTTLS + AUTH: Mailroom's durable outbox drained by its
sender threads, against Flask-Mail's `mail.send` per message, Flask-Mail's
`mail.connect()` loop, and plain smtplib on one connection. One SMTP server, in a
process of its own, for every contender; every client verifies it against the test CA.
Each contender runs once per round (--rounds, 3 by default); the verdicts are the medians
of each round's paired ratios.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from contextlib import contextmanager

import common
from flask_mail import Message

from app.extensions import mailer
from app.mail.compose import ComposedMail, compose
from app.mail.transport import helo_name


def composed(count: int) -> list[ComposedMail]:
    """The messages every contender sends: built once, before any clock starts."""
    return [compose(f"reader{i}@example.org", "test_email") for i in range(count)]


@contextmanager
def flask_mail_verifies(ca_path: str):
    """Flask-Mail 0.10 calls starttls() with no context: smtplib then builds an unverified
    one. For a fair and safe comparison, make that context verify against the test CA."""
    original = ssl._create_stdlib_context
    ssl._create_stdlib_context = lambda *a, **k: ssl.create_default_context(cafile=ca_path)
    try:
        yield
    finally:
        ssl._create_stdlib_context = original


def flask_mail_message(mail: ComposedMail) -> Message:
    """What a Flask-Mail app builds for the same mail (text and HTML already rendered)."""
    return Message(
        mail.subject,
        sender=mail.sender,
        recipients=[mail.recipient],
        body=mail.text,
        html=mail.html,
    )


def flask_mail_per_message(mails: list[ComposedMail]) -> float:
    started = time.perf_counter()
    for mail in mails:
        mailer.send(flask_mail_message(mail))
    return time.perf_counter() - started


def flask_mail_connect_loop(mails: list[ComposedMail]) -> float:
    started = time.perf_counter()
    with mailer.connect() as connection:
        for mail in mails:
            connection.send(flask_mail_message(mail))
    return time.perf_counter() - started


def smtplib_one_connection(mails: list[ComposedMail], settings: dict, ca_path: str) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", settings["MAIL_PORT"], local_hostname=helo_name()) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=ca_path))
        smtp.login(settings["MAIL_USERNAME"], settings["MAIL_PASSWORD"])
        for mail in mails:
            smtp.sendmail(mail.envelope_from, [mail.recipient], mail.mime)
    return time.perf_counter() - started


def run_contenders(app, server, certs, mails, threads, rounds) -> dict[str, list[float]]:
    """Every contender once per round, in the same order: a neighbour's burst on the shared
    machine then hits one round of each, and the medians and paired ratios shrug it off."""
    settings = certs.mail_settings(server)
    contenders = {
        "mailroom": lambda: common.timed_drain(app, mails, threads, server, fresh=True),
        # The same outbox with one sender thread: on SQLite the threads of one process
        # share one writer lock (and one GIL), so the second can cost more than it brings.
        "mailroom-1": lambda: common.timed_drain(app, mails, 1, server, fresh=True),
        "smtplib": lambda: smtplib_one_connection(mails, settings, certs.ca_path),
        "connect-loop": lambda: _with_ca(certs, flask_mail_connect_loop, mails),
        "per-message": lambda: _with_ca(certs, flask_mail_per_message, mails),
    }
    seconds = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            server.reset()
            seconds[name].append(run())
            if server.received != len(mails):
                raise RuntimeError(f"{name}: the server received {server.received}/{len(mails)}")
    return seconds


def _with_ca(certs, run, mails) -> float:
    with flask_mail_verifies(certs.ca_path):
        return run(mails)


def report(seconds: dict[str, list[float]], count: int, threads: int) -> None:
    rates = {name: [count / s for s in runs] for name, runs in seconds.items()}
    what = {
        "mailroom": f"outbox, {threads} sender threads, durable",
        "mailroom-1": "outbox, 1 sender thread, durable",
        "smtplib": "one connection, prebuilt bytes",
        "connect-loop": "Flask-Mail, one connection",
        "per-message": "Flask-Mail, connection per message",
    }
    median = {name: common.median(values) for name, values in rates.items()}
    rows = [
        [
            name,
            what[name],
            count,
            common.median(seconds[name]),
            median[name],
            " ".join(f"{r:.0f}" for r in rates[name]),
            median["mailroom"] / median[name],
        ]
        for name in what
    ]
    headers = ["contender", "how", "n", "median s", "msg/s", "msg/s by round", "mailroom x"]
    common.print_table(headers, rows)
    for other, target in (("per-message", 5), ("connect-loop", 1)):
        # Paired: each round's mailroom against the same round's contender.
        ratios = [m / o for m, o in zip(rates["mailroom"], rates[other], strict=True)]
        label = "per-message mail.send" if other == "per-message" else "mail.connect() loop"
        print(f"   mailroom / {label}, by round: " + ", ".join(f"{r:.2f}" for r in ratios))
        value = common.median(ratios)
        common.verdict(f"mailroom / {label} (median)", value, f">= {target}", value >= target)


def main() -> None:
    args = common.arguments(__doc__, messages=2000, threads=2, rounds=3)
    url = args.database_url or common.default_database_url()
    common.quiet_logs()
    common.print_header("(b) drain throughput over STARTTLS + AUTH", url)
    certs = common.Certs()
    with certs.starttls_server() as server:
        app = common.fresh_app(
            common.bench_config(
                url, MAIL_SENDER_THREADS=args.threads, **certs.mail_settings(server)
            )
        )
        with app.app_context():
            mails = composed(args.messages)
            seconds = run_contenders(app, server, certs, mails, args.threads, args.rounds)
        common.dispose(app)
    print("   TLS: every client verifies the server against the test CA (Flask-Mail through a")
    print(
        "   patched ssl._create_stdlib_context, since 0.10 takes no context); server: own process"
    )
    report(seconds, args.messages, args.threads)


if __name__ == "__main__":
    main()
