"""Senders: each has an identity of its own (two containers may share a host name and a
pid), runs the app's before-claim hooks, and keeps sending however many descriptors its
process holds."""

from __future__ import annotations

import os
import resource

import pytest
from sqlalchemy import select

from app.extensions import db
from app.mail import send_email
from app.mail.models import SenderState
from app.mail.sender import BEFORE_CLAIM_KEY, stop_senders
from tests.conftest import wait_for
from tests.outbox_helpers import queue, stored

# select() refuses descriptors from 1,024 on: open more than that.
DESCRIPTORS = 1100


def test_two_apps_in_one_process_never_touch_each_others_claims(make_app, make_smtp, senders):
    # One host name, one pid, the same thread index: two containers, as far as names go.
    slow = make_smtp(delay=1.0)
    first = make_app(MAIL_PORT=slow.port)
    second = make_app(MAIL_PORT=slow.port)
    (row_id,) = queue(first, "ada@example.com")
    senders(first)
    wait_for(lambda: slow.handler.attempts)  # the first app's sender is in DATA
    senders(second)
    with first.app_context():
        wait_for(lambda: len(db.session.scalars(select(SenderState)).all()) == 2)
        db.session.rollback()
    owner = stored(first, row_id).lease_owner
    stop_senders(second)  # hands back its own claims, and only those
    row = stored(first, row_id)
    assert (row.status, row.lease_owner) == ("sending", owner)
    with first.app_context():
        names = db.session.scalars(select(SenderState.name)).all()
    assert names == [owner]
    host, pid, index, _random = owner.split(":")
    assert (pid, index) == (str(os.getpid()), "0")
    wait_for(lambda: stored(first, row_id).status == "sent")
    assert len(slow.messages) == 1


def test_before_claim_hooks_run_before_each_claim_and_a_failing_one_stops_nothing(
    app, smtp, senders
):
    calls = []

    def failing():
        calls.append("failing")
        raise RuntimeError("a hook's bug")

    def enqueue_once():
        calls.append("enqueue")
        if calls.count("enqueue") == 1:
            # Its own transaction: the claim that follows sees the row.
            send_email("hooked@example.com", "test_email")
            db.session.commit()

    app.extensions[BEFORE_CLAIM_KEY] = [failing, enqueue_once]
    senders(app)
    wait_for(lambda: smtp.messages and calls.count("enqueue") >= 3)
    assert [m.rcpt_tos for m in smtp.messages] == [["hooked@example.com"]]
    assert calls[:2] == ["failing", "enqueue"]


@pytest.fixture
def many_descriptors():
    """Hold DESCRIPTORS open files, so that every new socket's number is past 1,023."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = DESCRIPTORS + 256
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            message = f"the descriptor limit ({hard}) is too low for this test"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message)  # on CI nothing is skipped
            pytest.skip(message)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(DESCRIPTORS)]
    yield
    for fd in held:
        os.close(fd)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_kept_open_connection_past_descriptor_1024_still_sends(
    many_descriptors, app, smtp, senders
):
    first, second = queue(app, "ada@example.com", "bob@example.com")
    senders(app)
    wait_for(lambda: stored(app, first).status == "sent")
    (third,) = queue(app, "eve@example.com")  # on the connection the sender kept open
    wait_for(lambda: stored(app, third).status == "sent", timeout=5)
    assert stored(app, second).status == "sent"
    assert len(smtp.messages) == 3
    assert len({m.peer for m in smtp.messages}) == 1
