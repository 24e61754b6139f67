"""The outbox pages: filter and paginate, one message taken apart with its attempts, the
HTML part framed inert, and retry. Admin sessions via admin_helpers.log_in."""

import re
from datetime import timedelta

from sqlalchemy import update

from app import clock
from app.admin import outbox_pages
from app.extensions import db
from app.mail import send_email
from app.mail.models import EXPIRED, FAILED, OutboxMessage
from tests.admin_helpers import admin_client, post_form
from tests.conftest import wait_for
from tests.smtp_server import QUEUE_ID


def text_of(response) -> str:
    return response.get_data(as_text=True)


def queue(app, *addresses, status=None, last_error=None) -> list[int]:
    with app.app_context():
        ids = [send_email(address, "test_email").id for address in addresses]
        if status:
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(status=status, last_error=last_error)
            )
        db.session.commit()
        return ids


def listed_ids(page: str) -> list[int]:
    return [
        int(i) for i in re.findall(r'<td[^>]*><a href="/admin/mail/outbox/(\d+)">\1</a></td>', page)
    ]


def status_of(app, message_id):
    with app.app_context():
        return db.session.get(OutboxMessage, message_id).status


def test_outbox_lists_newest_first_and_filters_by_status_and_address(app):
    first, second = queue(app, "ada@example.com", "bob@example.org")
    (failed,) = queue(app, "ada@other.example", status=FAILED, last_error="550 no such user")
    client = admin_client(app)
    assert listed_ids(text_of(client.get("/admin/mail/outbox"))) == [failed, second, first]
    assert listed_ids(text_of(client.get("/admin/mail/outbox?status=failed"))) == [failed]
    assert listed_ids(text_of(client.get("/admin/mail/outbox?q=ADA"))) == [failed, first]
    by_both = client.get("/admin/mail/outbox?status=queued&q=ada")
    assert listed_ids(text_of(by_both)) == [first]
    assert "550 no such user" in text_of(client.get("/admin/mail/outbox?status=failed"))


def test_outbox_address_filter_takes_wildcards_literally(app):
    queue(app, "ada@example.com")
    page = text_of(admin_client(app).get("/admin/mail/outbox?q=%25"))
    assert listed_ids(page) == []
    assert "No messages match these filters" in page


def test_outbox_refuses_an_unknown_status(app):
    response = admin_client(app).get("/admin/mail/outbox?status=bogus")
    assert response.status_code == 400


def pager_link(page: str, label: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)">{label}</a>', page)
    return match.group(1).replace("&amp;", "&") if match else None


def test_outbox_pages_by_id_newest_first(app):
    ids = sorted(queue(app, *[f"user{i}@example.com" for i in range(55)]), reverse=True)
    client = admin_client(app)
    first_page = text_of(client.get("/admin/mail/outbox?q=user"))
    assert listed_ids(first_page) == ids[:50]
    assert pager_link(first_page, "Newer") is None
    older = pager_link(first_page, "Older")
    assert older == f"/admin/mail/outbox?before={ids[49]}&q=user"
    second_page = text_of(client.get(older))
    assert listed_ids(second_page) == ids[50:]
    assert pager_link(second_page, "Older") is None
    newer = text_of(client.get(pager_link(second_page, "Newer")))
    assert listed_ids(newer) == ids[:50]


def test_a_search_looks_through_a_window_of_ids_at_a_time(app, monkeypatch):
    monkeypatch.setattr(outbox_pages, "SEARCH_WINDOW", 10)
    (needle,) = queue(app, "needle@example.com")
    hay = queue(app, *[f"hay{i}@example.com" for i in range(25)])
    client = admin_client(app)
    page = text_of(client.get("/admin/mail/outbox?q=needle"))
    assert listed_ids(page) == []
    assert f"No matches among messages #{hay[-1] - 9} to #{hay[-1]}." in page
    found = None
    for _ in range(3):
        page = text_of(client.get(pager_link(page, "Search older")))
        if listed_ids(page):
            found = listed_ids(page)
            break
    assert found == [needle]
    assert pager_link(page, "Search older") is None  # the oldest message was looked at
    # A whole address is looked up in the index: found at once, however old.
    whole = text_of(client.get("/admin/mail/outbox?q=Needle@Example.com"))
    assert listed_ids(whole) == [needle] and "Search older" not in whole


def test_message_page_shows_headers_text_html_frame_and_every_attempt(app, smtp, senders):
    smtp.faults.append("451 4.3.0 Try again later")
    (message_id,) = queue(app, "ada@example.com")
    with app.app_context():
        senders(app)
    wait_for(lambda: status_of(app, message_id) == "sent")
    page = text_of(admin_client(app).get(f"/admin/mail/outbox/{message_id}"))
    assert "<dt>Subject</dt><dd>Mailroom test email</dd>" in page
    assert "<dt>Message-ID</dt>" in page
    assert "This is a test email from Mailroom." in page
    frame = (
        '<iframe class="email-frame" data-fit sandbox="allow-same-origin" '
        f'src="/admin/mail/outbox/{message_id}/html"'
    )
    assert frame in page
    # Both attempts, each with the server's reply.
    assert "451 4.3.0 Try again later" in page
    assert f"250 2.0.0 Ok: queued as {QUEUE_ID}" in page
    assert page.count("badge-retry") == 1
    assert "Retry this message" not in page


def test_html_part_is_served_inert_and_frameable_only_by_this_site(app):
    (message_id,) = queue(app, "ada@example.com")
    response = admin_client(app).get(f"/admin/mail/outbox/{message_id}/html")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    # Same-origin so the page can size the frame; never scripts, forms or navigation.
    assert policy.startswith("sandbox allow-same-origin;")
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'self'" in policy
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "<h1" in text_of(response) and "Mailroom test email" in text_of(response)


def test_a_purged_message_keeps_its_record_but_shows_no_body(app):
    (message_id,) = queue(app, "ada@example.com")
    with app.app_context():
        db.session.get(OutboxMessage, message_id).mime = None
        db.session.commit()
    client = admin_client(app)
    page = text_of(client.get(f"/admin/mail/outbox/{message_id}"))
    assert "The body of this message was purged" in page
    assert client.get(f"/admin/mail/outbox/{message_id}/html").status_code == 404


def test_unknown_message_is_404(app):
    client = admin_client(app)
    assert client.get("/admin/mail/outbox/999999").status_code == 404
    assert post_form(client, "/admin/mail/outbox/999999/retry").status_code == 404


def test_retry_sends_a_failed_message_again(app, smtp, senders):
    (message_id,) = queue(app, "ada@example.com", status=FAILED, last_error="550 mailbox full")
    client = admin_client(app)
    page_url = f"/admin/mail/outbox/{message_id}"
    assert "Retry this message" in text_of(client.get(page_url))
    response = post_form(client, f"{page_url}/retry", page=page_url)
    assert response.status_code == 302
    assert response.headers["Location"] == page_url
    assert status_of(app, message_id) == "queued"
    assert "is queued again" in text_of(client.get(page_url))
    with app.app_context():
        senders(app)
    wait_for(lambda: smtp.messages)
    wait_for(lambda: status_of(app, message_id) == "sent")
    assert smtp.messages[0].rcpt_tos == ["ada@example.com"]


def test_retry_brings_back_an_expired_message(app, monkeypatch):
    (message_id,) = queue(app, "ada@example.com", status=EXPIRED, last_error="link expired")
    with app.app_context():
        row = db.session.get(OutboxMessage, message_id)
        row.not_after = clock.utcnow() - timedelta(minutes=5)
        db.session.commit()
    client = admin_client(app)
    page_url = f"/admin/mail/outbox/{message_id}"
    post_form(client, f"{page_url}/retry", page=page_url)
    assert status_of(app, message_id) == "queued"


def test_retry_leaves_a_sent_or_queued_message_alone(app):
    (message_id,) = queue(app, "ada@example.com")
    client = admin_client(app)
    page_url = f"/admin/mail/outbox/{message_id}"
    response = post_form(client, f"{page_url}/retry", page=page_url)
    assert response.status_code == 302
    assert "Only a failed or expired message" in text_of(client.get(page_url))
    assert status_of(app, message_id) == "queued"


def test_a_suppressed_message_says_why(make_app):
    app = make_app(MAIL_ALLOWLIST=["@example.com"])
    (message_id,) = queue(app, "eve@elsewhere.test")
    page = text_of(admin_client(app).get(f"/admin/mail/outbox/{message_id}"))
    assert "suppressed, not sent: not on MAIL_ALLOWLIST" in page
