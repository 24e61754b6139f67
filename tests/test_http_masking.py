"""No admin reads a live link: the outbox message page, its HTML view and the raw download
show emailed links with their token hidden, and codes hidden in mail that carries them."""

from __future__ import annotations

import email
import email.policy

import pytest
from flask import Flask

from app.auth.tokens import confirm_token_for
from app.extensions import db
from app.mail import link_to, send_email
from app.mail.models import SENT, OutboxMessage
from tests.admin_helpers import admin_client

CODE = "ABCD-EF23"
# What app.admin.masking puts in their place (spelled out: the test must run on code that
# has no masking at all, and fail there).
TOKEN_MASK, CODE_MASK = "(hidden)", "(hidden code)"


def queue(app, template: str, **context) -> int:
    with app.app_context():
        row = send_email("ada@example.com", template, **context)
        db.session.commit()
        return row.id


def reset_mail(app, token: str) -> int:
    with app.app_context():
        url = link_to("auth.reset_password", token=token)
    return queue(
        app,
        "reset_password",
        code=CODE,
        user_email="ada@example.com",
        reset_url=url,
        expires_in="1 hour",
    )


@pytest.fixture
def token(app) -> str:
    """A real, signed confirmation token: what an admin must never be able to copy."""
    with app.app_context():
        return confirm_token_for("ada@example.com")


def test_message_page_html_view_and_raw_download_hide_the_token_and_code(app, token):
    message_id = reset_mail(app, token)
    client = admin_client(app)
    page = client.get(f"/admin/mail/outbox/{message_id}").get_data(as_text=True)
    html = client.get(f"/admin/mail/outbox/{message_id}/html").get_data(as_text=True)
    raw = client.get(f"/admin/mail/outbox/{message_id}/raw")
    assert raw.status_code == 200 and raw.mimetype == "message/rfc822"
    assert raw.headers["Content-Disposition"] == f'attachment; filename="message-{message_id}.eml"'
    for shown in (page, html, raw.get_data(as_text=True)):
        assert token not in shown
        assert CODE not in shown
    hidden_link = f"https://mailroom.example/reset-password/{TOKEN_MASK}"
    assert hidden_link in page and hidden_link in html
    assert CODE_MASK in page and CODE_MASK in html

    message = email.message_from_bytes(raw.data, policy=email.policy.default)
    with app.app_context():
        stored = email.message_from_bytes(
            db.session.get(OutboxMessage, message_id).mime, policy=email.policy.default
        )
    assert message["Message-ID"] == stored["Message-ID"]
    assert message["Subject"] == stored["Subject"] and message["To"] == stored["To"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert hidden_link in text and CODE_MASK in text
    assert hidden_link in message.get_body(preferencelist=("html",)).get_content()


def test_links_without_a_token_and_links_elsewhere_are_left_alone(app):
    from app.admin.masking import mask_secrets

    with app.app_context():
        login, reset = link_to("auth.login"), link_to("auth.reset_request")
        text = (
            f"Log in at {login}. Forgot it? {reset}\n"
            "Not ours: https://elsewhere.example/reset-password/abc.def\n"
            f"Order ABCD-1234 and colour #1E3A8A; a reset: {reset}/tok.EN-1_x."
        )
        masked = mask_secrets(text)
        assert masked == text.replace("tok.EN-1_x", TOKEN_MASK)
        assert "ABCD-1234" in masked  # codes only where the mail says it carries one


def test_every_route_with_a_token_is_covered_including_new_ones(make_app):
    from app.admin.masking import mask_secrets

    app = make_app()
    app.add_url_rule("/unsubscribe/<token>", "unsubscribe", lambda token: token)
    with app.app_context():
        for endpoint in ("unsubscribe", "auth.confirm", "auth.reset_password"):
            url = link_to(endpoint, token="live.TOKEN-value")
            assert (
                mask_secrets(f"open {url} now")
                == "open " + url.replace("live.TOKEN-value", TOKEN_MASK) + " now"
            )


def test_a_base_url_with_a_path_prefix_is_masked_too(make_app):
    from app.admin.masking import mask_secrets

    app = make_app(APP_BASE_URL="https://example.org/mailroom")
    with app.app_context():
        url = link_to("auth.confirm", token="live.TOKEN")
        assert url == "https://example.org/mailroom/confirm/live.TOKEN"
        assert mask_secrets(url) == f"https://example.org/mailroom/confirm/{TOKEN_MASK}"


def test_a_sensitive_message_whose_body_was_dropped_says_why(app, token):
    message_id = reset_mail(app, token)
    with app.app_context():
        row = db.session.get(OutboxMessage, message_id)
        row.sensitive, row.status, row.mime = True, SENT, None
        db.session.commit()
    client = admin_client(app)
    page = client.get(f"/admin/mail/outbox/{message_id}").get_data(as_text=True)
    assert "dropped once it was delivered: it carried a live link" in page
    assert client.get(f"/admin/mail/outbox/{message_id}/raw").status_code == 404


def test_codes_are_masked_only_in_mail_whose_template_names_one(app: Flask):
    from app.admin.masking import carries_codes

    with app.app_context():
        assert carries_codes("reset_password") and carries_codes("confirm_email")
        assert not carries_codes("test_email") and not carries_codes("no_such_template")
