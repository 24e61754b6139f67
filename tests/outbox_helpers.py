"""Helpers for the mail pipeline tests: queue committed test emails, read rows back, and a
small probe template whose values show up in both parts."""

from __future__ import annotations

from app.extensions import db
from app.mail import send_email
from app.mail.models import OutboxMessage

PROBE = {
    "email/probe.txt": (
        '{% extends "email/_layout.txt" %}'
        "{% block subject %}Hello {{ name }}{% endblock %}"
        "{% block body %}Hi {{ name }}, open {{ url }}{% endblock %}"
    ),
    "email/probe.html": (
        '{% extends "email/_layout.html" %}'
        '{% block body %}<p>Hi {{ name }}</p><a href="{{ url }}">open</a>{% endblock %}'
    ),
}


def queue(app, *addresses, **kwargs) -> list[int]:
    """Queue and commit one test email per address; returns their outbox ids."""
    with app.app_context():
        rows = [send_email(a, "test_email", **kwargs) for a in addresses]
        db.session.commit()
        return [row.id for row in rows]


def stored(app, row_id) -> OutboxMessage:
    with app.app_context():
        return db.session.get(OutboxMessage, row_id)
