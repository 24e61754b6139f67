"""Retention: `flask mail purge` deletes finished mail past its days with its attempts,
and the rows of dead senders, in bounded batches; queued and sending mail stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select, update

from app import clock
from app.extensions import db
from app.mail import retention
from app.mail.models import DeliveryAttempt, OutboxMessage, SenderState
from tests.outbox_helpers import queue, stored

STATUSES = ["sent", "failed", "expired", "suppressed", "queued", "sending"]


def age(app, ids, days: float, **values) -> None:
    with app.app_context():
        created = clock.utcnow() - timedelta(days=days)
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(created_at=created, **values)
        )
        db.session.execute(
            insert(DeliveryAttempt),
            [{"outbox_id": i, "outcome": "retry", "started_at": created} for i in ids],
        )
        db.session.commit()


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_purge_deletes_only_finished_mail_past_retention_with_its_attempts(app, runner):
    old = queue(app, *[f"old-{status}@example.com" for status in STATUSES])
    recent = queue(app, *[f"new-{status}@example.com" for status in STATUSES])
    for row_id, status in zip(old, STATUSES, strict=True):
        age(app, [row_id], days=31, status=status)
    for row_id, status in zip(recent, STATUSES, strict=True):
        age(app, [row_id], days=29, status=status)
    result = runner.invoke(args=["mail", "purge"])  # MAIL_RETENTION_DAYS: 30 by default
    assert result.exit_code == 0, result.output
    assert result.output == (
        "deleted 4 message(s) older than 30 day(s) and their 4 attempt(s); 0 dead sender(s)\n"
    )
    assert [stored(app, i) is None for i in old] == [True] * 4 + [False] * 2
    assert all(stored(app, i) is not None for i in recent)
    assert count(app, DeliveryAttempt) == 8


def test_purge_works_through_a_backlog_in_batches(app):
    ids = queue(app, *[f"user{i}@example.com" for i in range(25)])
    age(app, ids, days=400, status="sent")
    with app.app_context():
        purged = retention.purge(timedelta(days=30), batch=10)
    assert (purged.messages, purged.attempts) == (25, 25)
    assert count(app, OutboxMessage) == count(app, DeliveryAttempt) == 0


def test_purge_deletes_senders_silent_for_a_day_and_keeps_the_rest(app, runner):
    now = clock.utcnow()
    with app.app_context():
        for name, silent, backoff in (
            ("dead", timedelta(days=2), None),
            ("alive", timedelta(seconds=3), None),
            ("backing-off", timedelta(days=2), now + timedelta(minutes=5)),
        ):
            db.session.add(
                SenderState(
                    name=name, host="h", pid=1, heartbeat_at=now - silent, backoff_until=backoff
                )
            )
        db.session.commit()
    result = runner.invoke(args=["mail", "purge", "--older-than", "7"])
    assert result.output.endswith("; 1 dead sender(s)\n")
    with app.app_context():
        names = sorted(db.session.scalars(select(SenderState.name)))
    assert names == ["alive", "backing-off"]


def test_mail_retention_days_sets_the_default(make_app):
    app = make_app(MAIL_RETENTION_DAYS=3)
    (row_id,) = queue(app, "ada@example.com")
    age(app, [row_id], days=4, status="sent")
    result = app.test_cli_runner().invoke(args=["mail", "purge"])
    assert "deleted 1 message(s) older than 3 day(s)" in result.output
    assert stored(app, row_id) is None
