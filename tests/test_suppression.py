"""The suppression list against a real SMTP server: a hard bounce at RCPT suppresses the
address, suppressed mail (security notices too) is recorded and never sent, an admin lifts
it and mail flows again, and nothing a stranger sees tells a suppressed address apart."""

from __future__ import annotations

from sqlalchemy import select

from app.auth import emails
from app.extensions import db
from app.mail import suppression
from app.mail.models import OutboxMessage
from app.mail.smtp_failures import FAILED, DeliveryError
from app.models import User
from tests.accounts import make_user, scrub, signup, submit
from tests.admin_helpers import admin_client, post_form
from tests.conftest import wait_for
from tests.outbox_helpers import queue, stored

GONE = "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown"


def _suppressed(app, address: str) -> str | None:
    with app.app_context():
        return suppression.reason_for(address)


def _suppress(app, address: str, kind=suppression.COMPLAINT, source="ses") -> None:
    with app.app_context():
        suppression.add(address, kind, source, "reported")
        db.session.commit()


def _seen(page: str) -> str:
    """A page's text as read: addresses carry a <wbr> where they may wrap."""
    return page.replace("<wbr>", "")


def _entry_id(app, address: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(suppression.Suppression.id).where(suppression.Suppression.address == address)
        )


def test_a_hard_bounce_at_rcpt_suppresses_the_address(app, smtp, senders):
    smtp.handler.rcpt_faults.append(GONE)
    [first] = queue(app, "gone@example.com")
    senders(app)
    wait_for(lambda: stored(app, first).status == "failed")
    assert "suppression list: hard bounce at RCPT TO (smtp)" in _suppressed(app, "gone@example.com")
    with app.app_context():
        [event] = suppression.history("gone@example.com")
        assert (event.kind, event.outbox_id) == ("hard_bounce", first)
        assert "5.1.1" in event.detail

    # The next message to it is recorded as suppressed, with why, and never offered.
    [second] = queue(app, "Gone@Example.com")
    row = stored(app, second)
    assert row.status == "suppressed"
    assert row.last_error.startswith("on the suppression list")
    [third] = queue(app, "other@example.com")
    wait_for(lambda: stored(app, third).status == "sent")
    assert [m.rcpt_tos for m in smtp.handler.offered] == [["other@example.com"]]


def test_a_policy_refusal_or_a_4xx_at_rcpt_does_not_suppress(app, smtp, senders):
    smtp.handler.rcpt_faults.extend(
        ["550 5.7.1 Service unavailable; client host blocked", "450 4.2.0 Mailbox busy"]
    )
    [blocked, busy] = queue(app, "blocked@example.com", "busy@example.com")
    senders(app)
    wait_for(lambda: stored(app, blocked).status == "failed")
    wait_for(lambda: stored(app, busy).status == "sent")
    assert _suppressed(app, "blocked@example.com") is None
    assert _suppressed(app, "busy@example.com") is None


def test_hard_bounce_replies_are_told_from_other_refusals():
    def error(reason, code=550, kind=FAILED):
        return DeliveryError(kind, f"{code} {reason} (at RCPT TO)", code)

    assert suppression.hard_bounce_reply(error("5.1.1 user unknown"))
    assert suppression.hard_bounce_reply(error("5.2.1 mailbox disabled"))
    assert suppression.hard_bounce_reply(error("no such user", 550))
    assert not suppression.hard_bounce_reply(error("5.7.1 relaying denied"))
    assert not suppression.hard_bounce_reply(error("5.2.2 mailbox full", 552))
    assert not suppression.hard_bounce_reply(error("4.1.1 try later", 450, "retry"))
    at_data = DeliveryError(FAILED, "554 5.1.1 rejected (at DATA)", 554)
    assert not suppression.hard_bounce_reply(at_data)


def test_suppressed_mail_is_never_sent_not_even_a_security_notice(app, smtp, senders):
    make_user(app, "owner@example.com")
    _suppress(app, "owner@example.com")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "owner@example.com"))
        emails.send_password_changed_email(user)
        emails.send_password_reset_email(user)
        db.session.commit()
        rows = db.session.execute(
            select(OutboxMessage.template, OutboxMessage.status, OutboxMessage.mime)
        ).all()
    assert sorted((t, s) for t, s, _ in rows) == [
        ("password_changed", "suppressed"),
        ("reset_password", "suppressed"),
    ]
    # The reset mail carried a live link: never sent, so not kept either.
    assert {t: m is None for t, _, m in rows}["reset_password"]
    [later] = queue(app, "someone@example.com")
    senders(app)
    wait_for(lambda: stored(app, later).status == "sent")
    assert [m.rcpt_tos for m in smtp.handler.offered] == [["someone@example.com"]]


def test_the_row_send_email_returns_is_the_stored_row_listed_or_not(app):
    """The outbox asks the list inside its INSERT: what the caller is handed (an admin's
    test page links to it) is what the database holds, in the caller's transaction only."""
    from app.mail import send_email

    _suppress(app, "listed@example.com")
    with app.test_request_context():
        listed = send_email("listed@example.com", "test_email", sensitive=True)
        plain = send_email("plain@example.com", "test_email")
        handed = {row.id: (row.status, row.last_error, row.mime is None) for row in (listed, plain)}
        assert handed[listed.id][:1] == ("suppressed",)
        assert handed[listed.id][1].startswith("on the suppression list: spam complaint (ses)")
        db.session.commit()
        for row_id, expected in handed.items():
            db.session.expire_all()
            row = db.session.get(OutboxMessage, row_id)
            assert (row.status, row.last_error, row.mime is None) == expected
        assert handed[plain.id] == ("queued", None, False)
        assert handed[listed.id][2], "a never-sent sensitive mail keeps no live link"

        send_email("rolled-back@example.com", "test_email")
        db.session.rollback()
        assert (
            db.session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.recipient == "rolled-back@example.com")
            )
            is None
        )


def test_an_admin_lifts_a_suppression_and_mail_is_sent_again(app, smtp, senders):
    _suppress(app, "back@example.com")
    [before] = queue(app, "back@example.com")
    assert stored(app, before).status == "suppressed"
    admin = admin_client(app)
    entry = f"/admin/mail/suppressions/{_entry_id(app, 'back@example.com')}"
    listing = _seen(admin.get("/admin/mail/suppressions").text)
    assert "back@example.com" in listing and "spam complaint" in listing
    # The console's menu leads here, marked as the page shown.
    assert 'href="/admin/mail/suppressions" aria-current="page">Suppressed' in listing
    assert 'href="/admin/mail/suppressions"' in admin.get("/admin/mail").text
    page = admin.get(entry).text
    assert "Suppressed since" in page and f"#{before}" in page

    answer = post_form(admin, f"{entry}/lift", page=entry)
    assert answer.status_code == 302
    assert _suppressed(app, "back@example.com") is None
    history = _seen(admin.get(entry).text)
    assert "lifted" in history and "admin@example.com" in history
    assert "back@example.com" not in _seen(admin.get("/admin/mail/suppressions").text)

    [after] = queue(app, "back@example.com")
    senders(app)
    wait_for(lambda: stored(app, after).status == "sent")
    assert [m.rcpt_tos for m in smtp.messages] == [["back@example.com"]]


def test_suppression_pages_are_for_admins_only_and_refuse_bad_input(app, client):
    _suppress(app, "x@example.com")
    entry = f"/admin/mail/suppressions/{_entry_id(app, 'x@example.com')}"
    assert client.get("/admin/mail/suppressions").status_code == 302  # to log in
    assert client.post(f"{entry}/lift").status_code == 302
    assert _suppressed(app, "x@example.com") is not None
    admin = admin_client(app)
    assert admin.post(f"{entry}/lift").status_code == 400  # no CSRF token
    assert _suppressed(app, "x@example.com") is not None
    assert admin.get("/admin/mail/suppressions/99999999999999999999").status_code == 404
    assert admin.get("/admin/mail/suppressions?q=%00").status_code == 400
    assert admin.get("/admin/mail/suppressions?before=abc").status_code == 200


def test_a_stranger_sees_nothing_different_for_a_suppressed_address(app, client):
    make_user(app, "listed@example.com")
    make_user(app, "plain@example.com")
    _suppress(app, "listed@example.com")
    pages = {}
    for address in ("listed@example.com", "plain@example.com"):
        answers = [
            signup(client, address),
            submit(client, "/reset-password", {"email": address}),
            submit(client, "/confirm/resend", {"email": address}),
        ]
        pages[address] = [
            (a.status_code, a.location, scrub(client.get(a.location).text) if a.location else "")
            for a in answers
        ]
    assert pages["listed@example.com"] == pages["plain@example.com"]
