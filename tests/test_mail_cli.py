"""`flask mail ...` from a terminal: send-test, outbox, retry and purge, against the real
outbox and SMTP server (the worker command is run as a process in test_mail_crash.py)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from app import clock
from app.extensions import db
from app.mail.models import OutboxMessage
from tests.conftest import wait_for
from tests.outbox_helpers import queue, stored


def set_rows(app, ids, **values) -> None:
    with app.app_context():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**values))
        db.session.commit()


def test_send_test_queues_a_test_email_that_reaches_the_server(app, runner, smtp, senders):
    result = runner.invoke(args=["mail", "send-test", "Ada@Example.COM"])
    assert result.exit_code == 0, result.output
    match = re.fullmatch(
        r"queued #(\d+) (<\S+@mailroom\.example>) to (\S+) \(queued\)\n", result.output
    )
    assert match and match[3] == "Ada@example.com"
    senders(app)
    got = wait_for(lambda: smtp.messages)[0]
    assert got.rcpt_tos == ["Ada@example.com"]
    assert got.message_id == match[2]
    assert got.message["Subject"] == "Mailroom test email"


def test_send_test_refuses_a_bad_address_and_queues_nothing(app, runner):
    result = runner.invoke(args=["mail", "send-test", "not-an-address"])
    assert result.exit_code == 2
    assert "Invalid value for TO: An email address must have an @-sign" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_outbox_lists_messages_with_masked_addresses_and_filters_by_status(app, runner):
    ada, bob = queue(app, "ada@example.com", "bob@example.com")
    set_rows(app, [bob], status="failed", attempts=1, last_error="550 5.1.1 no such user")
    listing = runner.invoke(args=["mail", "outbox"]).output
    assert "a***@example.com" in listing and "b***@example.com" in listing
    assert "ada@example.com" not in listing
    assert "550 5.1.1 no such user" in listing
    assert listing.splitlines()[-1] == "totals: queued 1, failed 1"
    failed = runner.invoke(args=["mail", "outbox", "--status", "failed"]).output.splitlines()
    assert len(failed) == 2 and failed[0].startswith(f"#{bob} ") and "failed" in failed[0]
    bad = runner.invoke(args=["mail", "outbox", "--status", "lost"])
    assert bad.exit_code == 2


def test_retry_requeues_one_failed_message_which_then_goes_out(app, runner, smtp, senders):
    ada, bob = queue(app, "ada@example.com", "bob@example.com")
    set_rows(app, [ada, bob], status="failed", attempts=1)
    result = runner.invoke(args=["mail", "retry", str(ada)])
    assert result.output == "requeued 1 message(s)\n"
    senders(app)
    wait_for(lambda: stored(app, ada).status == "sent")
    assert stored(app, bob).status == "failed"
    assert [m.rcpt_tos for m in smtp.messages] == [["ada@example.com"]]


def test_retry_failed_requeues_every_failed_message_and_nothing_else(app, runner):
    ids = queue(app, "a@example.com", "b@example.com", "c@example.com")
    set_rows(app, ids[:2], status="failed")
    set_rows(app, ids[2:], status="sent")
    assert runner.invoke(args=["mail", "retry", "--failed"]).output == "requeued 2 message(s)\n"
    assert [stored(app, i).status for i in ids] == ["queued", "queued", "sent"]


def test_retry_needs_one_id_or_failed_and_names_a_missing_message(app, runner):
    for args in ([], ["1", "--failed"]):
        result = runner.invoke(args=["mail", "retry", *args])
        assert result.exit_code == 2
        assert "give one outbox ID or --failed" in result.output
    missing = runner.invoke(args=["mail", "retry", "999"])
    assert missing.exit_code == 1 and "no message #999" in missing.output


def test_purge_deletes_finished_mail_past_its_days_and_says_so(app, runner):
    old_sent, new_sent, old_queued = queue(app, "a@example.com", "b@example.com", "c@x.example")
    with app.app_context():
        long_ago = clock.utcnow() - timedelta(days=40)
    set_rows(app, [old_sent, old_queued], created_at=long_ago)
    set_rows(app, [old_sent, new_sent], status="sent")
    result = runner.invoke(args=["mail", "purge", "--older-than", "30"])
    assert result.output == (
        "deleted 1 message(s) older than 30 day(s) and their 0 attempt(s); 0 dead sender(s)\n"
    )
    assert stored(app, old_sent) is None
    assert stored(app, new_sent).mime is not None
    assert stored(app, old_queued).status == "queued"
    assert runner.invoke(args=["mail", "purge", "--older-than", "-1"]).exit_code == 2


def test_retry_gives_mail_that_gave_up_after_an_outage_a_new_round(app, runner, smtp, senders):
    (row_id,) = queue(app, "ada@example.com")
    with app.app_context():
        four_days_ago = clock.utcnow() - timedelta(days=4)
    set_rows(app, [row_id], created_at=four_days_ago, status="failed", attempts=10)
    assert runner.invoke(args=["mail", "retry", str(row_id)]).exit_code == 0
    senders(app)
    wait_for(lambda: stored(app, row_id).status in ("sent", "failed"))
    row = stored(app, row_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert len(smtp.messages) == 1
