"""Composing: user values can neither add a header nor add HTML, links ignore the request's
Host, and the message is built once, to bytes any SMTP server accepts."""

from __future__ import annotations

import email
import email.policy

import pytest
from flask_mail import BadHeaderError
from sqlalchemy import func, select

from app.extensions import db
from app.mail import link_to, send_email
from app.mail.models import OutboxMessage
from tests.conftest import add_templates
from tests.outbox_helpers import PROBE

INJECTION = "Ada\r\nBcc: everyone@evil.example"


@pytest.fixture
def probe_app(app):
    add_templates(app, PROBE)
    with app.app_context():
        yield app


def parsed(row: OutboxMessage) -> email.message.EmailMessage:
    return email.message_from_bytes(row.mime, policy=email.policy.default)


def queued_count() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count(OutboxMessage.id)))


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"to": "ada@example.com", "name": INJECTION}, id="subject"),
        pytest.param(
            {"to": "ada@example.com", "extra_headers": {"X-Ref": "1\r\nBcc: e@evil.example"}},
            id="extra-header-value",
        ),
        pytest.param(
            {"to": "ada@example.com", "extra_headers": {"Bcc: e@evil.example\r\nX-Ref": "1"}},
            id="extra-header-name",
        ),
        pytest.param({"to": "ada@example.com\r\nBcc: e@evil.example"}, id="recipient"),
        pytest.param({"to": "ada@example.com, eve@evil.example"}, id="two-recipients"),
        pytest.param({"to": "Ada <ada@example.com>"}, id="display-name"),
    ],
)
def test_header_injection_is_refused_and_nothing_is_queued(probe_app, kwargs):
    kwargs = {"name": "Ada", "url": "https://mailroom.example/", **kwargs}
    with pytest.raises(BadHeaderError):
        send_email(kwargs.pop("to"), "probe", **kwargs)
    assert queued_count() == 0


def test_user_values_are_escaped_in_the_html_part_and_kept_in_the_text(probe_app):
    name = '<script>alert("x")</script><b>Ada</b>'
    row = send_email("ada@example.com", "probe", name=name, url="https://mailroom.example/a")
    text, html = (part.get_content() for part in parsed(row).iter_parts())
    assert "<script>" not in html and "<b>Ada</b>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;Ada&lt;/b&gt;" in html
    assert name in text


def test_a_header_written_once_still_refuses_a_line_break_the_next_time(probe_app):
    # Header lines are folded once per value and kept: the checks must run on every message.
    first = send_email(
        "ada@example.com", "probe", name="Ada", url="x", extra_headers={"X-Ref": "1"}
    )
    assert parsed(first)["X-Ref"] == "1" and parsed(first)["Subject"] == "Hello Ada"
    attempts = [
        {"name": "Ada", "extra_headers": {"X-Ref": "1\r\nBcc: e@evil.example"}},
        {"name": "Ada", "extra_headers": {"X-Ref\r\nBcc": "1"}},
        {"name": INJECTION, "extra_headers": {"X-Ref": "1"}},
    ]
    for kwargs in attempts:
        with pytest.raises(BadHeaderError):
            send_email("ada@example.com", "probe", url="x", **kwargs)
    assert queued_count() == 1


@pytest.mark.parametrize("name", ["To", "bcc", "Message-ID", "Content-Type", "Subject"])
def test_extra_headers_cannot_replace_what_the_composer_sets(probe_app, name):
    with pytest.raises(BadHeaderError, match="set by the composer"):
        send_email("ada@example.com", "probe", name="Ada", url="x", extra_headers={name: "v"})
    assert queued_count() == 0


def test_extra_headers_reach_the_message(probe_app):
    row = send_email(
        "ada@example.com", "probe", name="Ada", url="x", extra_headers={"X-Ref": "r-1"}
    )
    assert parsed(row)["X-Ref"] == "r-1"


def test_links_are_built_on_app_base_url_whatever_the_request_host(probe_app):
    with probe_app.test_request_context("/", headers={"Host": "evil.test"}):
        assert link_to("main.healthz") == "https://mailroom.example/healthz"


def test_links_keep_a_path_prefix_of_app_base_url(make_app):
    app = make_app(APP_BASE_URL="https://example.org/mailroom/")
    with app.app_context():
        assert link_to("main.healthz") == "https://example.org/mailroom/healthz"


def test_styles_are_inlined_onto_the_html_elements(probe_app):
    row = send_email("ada@example.com", "probe", name="Ada", url="x")
    html = parsed(row).get_body(("html",)).get_content()
    assert '<div class="card" style="' in html


def test_ascii_mail_is_seven_bit_on_the_wire_even_with_non_ascii_text(probe_app):
    # No server is asked for 8BITMIME: bodies are quoted-printable, headers encoded words.
    row = send_email("ada@example.com", "probe", name="Zoë", url="x")
    assert row.mime.isascii()
    assert not row.smtputf8
    msg = parsed(row)
    assert msg["Subject"] == "Hello Zoë"
    assert "Hi Zoë" in msg.get_body(("plain",)).get_content()


def test_a_non_ascii_address_is_built_for_smtputf8(probe_app):
    row = send_email("zoë@example.com", "probe", name="Zoë", url="x")
    assert row.smtputf8
    assert parsed(row)["To"] == "zoë@example.com"


def test_each_message_gets_its_own_message_id_on_the_sender_domain(probe_app):
    rows = [send_email("ada@example.com", "probe", name="Ada", url="x") for _ in range(3)]
    ids = {row.message_id for row in rows}
    assert len(ids) == 3
    assert all(i.endswith("@mailroom.example>") for i in ids)
    assert all(parsed(row)["Message-ID"] == row.message_id for row in rows)


def test_a_template_without_a_subject_block_is_refused(app):
    add_templates(
        app,
        {
            "email/bare.txt": '{% extends "email/_layout.txt" %}{% block body %}x{% endblock %}',
            "email/bare.html": '{% extends "email/_layout.html" %}',
        },
    )
    with app.app_context(), pytest.raises(LookupError, match="subject"):
        send_email("ada@example.com", "bare")


def test_a_very_long_subject_is_queued_whole_in_the_message(probe_app):
    # The row's subject column holds 255 characters; the caller's transaction must not fail.
    name = "A" * 400
    row = send_email("ada@example.com", "probe", name=name, url="x")
    assert queued_count() == 1
    assert parsed(row)["Subject"] == f"Hello {name}"
    assert db.session.get(OutboxMessage, row.id).subject.startswith("Hello AAA")


def test_a_suppressed_message_is_recorded_without_its_body(make_app):
    app = make_app()
    with app.app_context():
        row = send_email("ada@example.com", "test_email", suppress="not sent: the cap")
        db.session.commit()
        stored = db.session.get(OutboxMessage, row.id)
        assert (stored.status, stored.last_error, stored.mime) == (
            "suppressed",
            "not sent: the cap",
            None,
        )
