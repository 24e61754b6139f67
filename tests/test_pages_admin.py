"""The mail console as an admin reads it: the tab of the section marked on every page, the
outbox with each template name on a line of its own and addresses that wrap at their @,
previews titled by subject, "just now" for a fresh heartbeat, and a connection check that
shows a skipped AUTH as skipped, with step times to a tenth of a millisecond."""

from __future__ import annotations

import html
import re

from flask import render_template_string

from app.extensions import db
from app.mail import send_email
from tests.admin_helpers import admin_client, post_form


def _marked_tab(page: str) -> list[str]:
    nav = page[page.index('class="admin-nav"') : page.index("</nav>", page.index("admin-nav"))]
    return re.findall(r'aria-current="page">([^<]+)</a>', nav)


def _queue(app, address: str) -> int:
    with app.app_context():
        row = send_email(address, "test_email")
        db.session.commit()
        return row.id


def test_the_tab_of_the_section_is_marked_on_every_admin_page(app):
    admin = admin_client(app)
    message_id = _queue(app, "ada@example.com")
    assert _marked_tab(admin.get(f"/admin/mail/outbox/{message_id}").text) == ["Outbox"]
    assert _marked_tab(admin.get("/admin/mail/outbox?status=queued").text) == ["Outbox"]
    assert _marked_tab(admin.get("/admin/mail/previews/confirm_email").text) == ["Previews"]
    assert _marked_tab(admin.get("/admin/mail").text) == ["Settings"]
    assert _marked_tab(post_form(admin, "/admin/mail/check").text) == ["Settings"]


def test_the_outbox_puts_the_template_under_the_subject_and_wraps_addresses_at_the_at(app):
    message_id = _queue(app, "a.rather.long.local.part@example.com")
    admin = admin_client(app)
    listing = admin.get("/admin/mail/outbox").text
    assert '<span class="template-name">test_email</span>' in listing
    wrapping = '<span class="address">a.rather.long.local.part<wbr>@example.com</span>'
    assert wrapping in listing
    assert wrapping in admin.get(f"/admin/mail/outbox/{message_id}").text


def test_previews_are_titled_by_the_subject_their_reader_sees(app):
    admin = admin_client(app)
    listing = admin.get("/admin/mail/previews").text
    link = re.search(r'<a href="/admin/mail/previews/reset_password">([^<]+)</a>', listing)
    assert link.group(1) == "Reset your Mailroom password"
    page = admin.get("/admin/mail/previews/reset_password").text
    assert "<h1>Reset your Mailroom password</h1>" in page
    assert "<title>Preview: Reset your Mailroom password · Mailroom</title>" in page


def test_a_heartbeat_under_a_second_old_reads_just_now(app):
    with app.test_request_context():
        said = render_template_string(
            '{% from "admin/_macros.html" import ago %}'
            "{{ ago(-0.3) }}|{{ ago(0.4) }}|{{ ago(5) }}|{{ ago(none) }}"
        )
    assert said.split("|") == ["just now", "just now", "5 s ago", "never"]


def test_the_check_shows_a_skipped_auth_as_skipped_and_real_step_times(app):
    page = html.unescape(post_form(admin_client(app), "/admin/mail/check").text)
    steps = re.findall(r'<li class="step step-(\w+)">.*?<strong>([^<]+)</strong>', page, re.S)
    assert ("skipped", "AUTH") in steps
    assert all(state == "ok" for state, title in steps if title != "AUTH")
    auth = page.split("<strong>AUTH</strong>", 1)[1].split("</li>", 1)[0]
    assert "Not tried: MAIL_USERNAME and MAIL_PASSWORD are not set." in auth
    assert " ms</span>" not in auth  # a step not taken has no time
    times = re.findall(r'<span class="duration">([\d.]+) ms</span>', page)
    assert times and all(re.fullmatch(r"\d+\.\d", t) for t in times)
    assert any(float(t) > 0 for t in times)
