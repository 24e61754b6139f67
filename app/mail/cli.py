"""`flask mail ...`: the outbox from a terminal, and the standalone sender process."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.mail import outbox, retention, send_email
from app.mail.events import mask
from app.mail.models import FAILED, STATUSES, OutboxMessage
from app.mail.sender import start_senders, stop_senders

mail_cli = AppGroup("mail", help="The mail outbox and its senders.")
# A test email jumps the queue: an admin is waiting to see it land.
TEST_PRIORITY = 10


@mail_cli.command("send-test")
@click.argument("to")
def send_test(to: str) -> None:
    """Queue a test email to TO through the real outbox."""
    from email_validator import EmailNotValidError, validate_email

    try:
        address = validate_email(to, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc), param_hint="TO") from exc
    row = send_email(address, "test_email", priority=TEST_PRIORITY)
    db.session.commit()
    click.echo(f"queued #{row.id} {row.message_id} to {address} ({row.status})")


@mail_cli.command("outbox")
@click.option("--status", type=click.Choice(STATUSES), help="Only messages in this state.")
@click.option("--limit", default=50, show_default=True)
def list_outbox(status: str | None, limit: int) -> None:
    """List the newest messages in the outbox."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    for row in db.session.scalars(query):
        error = f"  {row.last_error}" if row.last_error else ""
        click.echo(
            f"#{row.id:<6} {row.status:<10} {row.attempts:>2} tries  "
            f"{row.created_at:%Y-%m-%d %H:%M}  {mask(row.recipient):<28} {row.template}{error}"
        )
    counts = ", ".join(f"{k} {v}" for k, v in outbox.counts().items() if v)
    click.echo(f"totals: {counts or 'empty'}")


@mail_cli.command("retry")
@click.argument("message_id", required=False, type=int)
@click.option("--failed", "all_failed", is_flag=True, help="Requeue every failed message.")
def retry(message_id: int | None, all_failed: bool) -> None:
    """Requeue a failed message (by outbox id), or all of them with --failed."""
    if (message_id is None) == (not all_failed):
        raise click.UsageError("give one outbox ID or --failed")
    if all_failed:
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == FAILED))
    else:
        row = db.session.get(OutboxMessage, message_id)
        if row is None:
            raise click.ClickException(f"no message #{message_id}")
        rows = [row]
    requeued = [row.id for row in rows if outbox.requeue(row)]
    db.session.commit()
    click.echo(f"requeued {len(requeued)} message(s)")


@mail_cli.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Default: MAIL_RETENTION_DAYS.",
)
def purge(days: int | None) -> None:
    """Delete finished mail (sent, failed, expired, suppressed) older than DAYS with its
    attempts, and the rows of senders dead for a day. Queued mail is never deleted."""
    if days is None:
        days = current_app.config["MAIL_RETENTION_DAYS"]
    purged = retention.purge(timedelta(days=days))
    click.echo(
        f"deleted {purged.messages} message(s) older than {days} day(s) and their "
        f"{purged.attempts} attempt(s); {purged.senders} dead sender(s)"
    )


@mail_cli.command("worker")
@click.option("--threads", type=click.IntRange(min=1), help="Default: MAIL_SENDER_THREADS.")
def worker(threads: int | None) -> None:
    """Run the senders as a process of their own until SIGTERM or Ctrl-C."""
    app = current_app._get_current_object()
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    count = threads or max(1, app.config["MAIL_SENDER_THREADS"])
    start_senders(app, count)
    click.echo(f"mail worker: {count} sender thread(s); stop with Ctrl-C or SIGTERM")
    # A timed wait, not done.wait(): a signal the kernel hands to a sender thread only sets
    # Python's flag, and a main thread blocked without a timeout would never run the handler.
    while not done.wait(timeout=0.5):
        pass
    click.echo("mail worker: finishing the message in hand and handing back the rest")
    stop_senders(app)


@mail_cli.command("check")
@click.option("--rcpt", help="Also ask the server whether it takes mail for this address.")
def check(rcpt: str | None) -> None:
    """Check the SMTP settings step by step (connect, TLS, AUTH, MAIL FROM); sends nothing."""
    from app.mail.diagnostics import diagnose, security_mode
    from app.mail.transport import SmtpSettings

    settings = SmtpSettings.from_config(current_app.config)
    password = "set" if settings.password else "not set"
    if current_app.config.get("MAIL_AUTH") == "xoauth2":
        password = "not used (MAIL_AUTH=xoauth2: an OAuth2 token)"  # noqa: S105 - words
    verify = "on" if settings.tls_verify else "OFF"
    click.echo(
        f"Checking {settings.relay}: security {security_mode(settings)}, certificate "
        f"verification {verify}, username {settings.username or '(none)'}, password {password}"
    )
    diagnosis = diagnose(current_app.config, rcpt)
    for step in diagnosis.steps:
        mark = "FAILED" if not step.ok else "skip  " if step.skipped else "ok    "
        line = f"{mark} {step.title:<44} {step.duration_ms:>7.1f} ms  {step.reply}"
        click.echo(line.rstrip())
        for line in step.details:
            click.echo(f"         {line}")
        if step.hint:
            click.echo(f"         hint: {step.hint}")
    if not diagnosis.ok:
        raise SystemExit(1)
    click.echo("Every step passed: this server will take mail from this sender.")


@mail_cli.command("catcher")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, help="Default: MAIL_PORT (1025 in development).")
def catcher(host: str, port: int | None) -> None:
    """Development only: catch all mail on loopback; read it at /dev/mailbox."""
    from app.mail.catcher import Catcher, mailbox_folder

    app = current_app._get_current_object()
    if app.config["APP_ENV"] != "development":
        raise click.UsageError("the mail catcher runs only with APP_ENV=development")
    server = Catcher(mailbox_folder(app), host, port or app.config["MAIL_PORT"])
    try:
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{server.port}: {exc}") from exc
    click.echo(f"dev mail catcher on {host}:{server.port}, keeping mail in {server.folder}")
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    done.wait()
    server.stop()
