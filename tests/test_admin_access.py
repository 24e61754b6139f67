"""Only admins reach the mail console: the anonymous are sent to log in, other users get
403, on every URL and method; every POST needs its CSRF token; SMTP actions are limited.

Sessions are opened with Flask-Login's session keys (tests/admin_helpers.log_in)."""

import pytest

from app.extensions import db
from app.mail import send_email
from app.mail.models import FAILED, OutboxMessage
from tests.admin_helpers import admin_client, log_in, make_user, outbox_count, post_form


def _failed_message(app) -> int:
    with app.app_context():
        row = db.session.get(OutboxMessage, send_email("ada@example.com", "test_email").id)
        row.status, row.last_error = FAILED, "550 5.1.1 no such user (at RCPT TO)"
        db.session.commit()
        return row.id


def admin_urls(message_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", "/admin/"),
        ("GET", "/admin/mail"),
        ("POST", "/admin/mail/test"),
        ("POST", "/admin/mail/check"),
        ("GET", "/admin/mail/outbox"),
        ("GET", "/admin/mail/outbox?status=failed&q=ada"),
        ("GET", f"/admin/mail/outbox/{message_id}"),
        ("GET", f"/admin/mail/outbox/{message_id}/html"),
        ("POST", f"/admin/mail/outbox/{message_id}/retry"),
        ("GET", "/admin/mail/previews"),
        ("GET", "/admin/mail/previews/test_email"),
        ("GET", "/admin/mail/previews/test_email/html"),
    ]


def _request(client, method, url):
    data = {"to": "victim@example.com", "rcpt": "victim@example.com"}
    return client.open(url, method=method, data=data if method == "POST" else None)


def test_anonymous_visitors_are_sent_to_log_in_everywhere(app, smtp):
    message_id = _failed_message(app)
    client = app.test_client()
    for method, url in admin_urls(message_id):
        response = _request(client, method, url)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login?next="), (method, url)
    assert outbox_count(app) == 1
    assert smtp.messages == []


def test_signed_in_non_admins_get_403_everywhere(app, smtp):
    message_id = _failed_message(app)
    client = app.test_client()
    log_in(client, make_user(app, "bob@example.com"))
    for method, url in admin_urls(message_id):
        response = _request(client, method, url)
        assert response.status_code == 403, (method, url)
    assert outbox_count(app) == 1
    # The failed message stayed failed: the retry did nothing.
    page = admin_client(app).get(f"/admin/mail/outbox/{message_id}").get_data(as_text=True)
    assert "failed: 550 5.1.1 no such user" in page


def test_login_redirect_comes_back_to_the_page_asked_for(app):
    response = app.test_client().get("/admin/mail/outbox?status=failed")
    assert response.headers["Location"] == "/login?next=/admin/mail/outbox?status%3Dfailed"


def test_admin_posts_without_a_csrf_token_are_refused(app):
    message_id = _failed_message(app)
    client = admin_client(app)
    for url in ("/admin/mail/test", "/admin/mail/check", f"/admin/mail/outbox/{message_id}/retry"):
        response = client.post(url, data={"to": "ops@example.com"})
        assert response.status_code == 400, url
        assert "Your form expired" in response.get_data(as_text=True)
    assert outbox_count(app) == 1


def test_admin_sees_the_console(app):
    response = admin_client(app).get("/admin/mail")
    assert response.status_code == 200
    assert "Mail settings" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/mail/test", "/admin/mail/check"])
def test_smtp_actions_are_rate_limited_per_admin(make_app, smtp, path):
    app = make_app(MAIL_PORT=smtp.port, RATELIMIT_ENABLED=True)
    client = admin_client(app)
    statuses = [post_form(client, path, {"to": "ops@example.com"}).status_code for _ in range(11)]
    assert statuses[:10] == [302 if path.endswith("test") else 200] * 10
    assert statuses[10] == 429
    # Another admin has an allowance of their own.
    other = admin_client(app, "second-admin@example.com")
    assert post_form(other, path, {"to": "ops@example.com"}).status_code != 429
