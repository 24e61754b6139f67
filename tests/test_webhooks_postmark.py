"""Postmark: basic auth written into the webhook URL, or a token header, as its documented
protection; refused when missing, wrong, stale (BouncedAt) or replayed (the record's ID)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.webhook_helpers import (
    POSTMARK_PASSWORD,
    POSTMARK_TOKEN,
    POSTMARK_USER,
    basic_auth,
    history_of,
    iso,
    now_utc,
    suppression_of,
)

URL = "/webhooks/postmark"
AUTH = basic_auth(POSTMARK_USER, POSTMARK_PASSWORD)


@pytest.fixture
def pm_app(make_app, smtp):
    return make_app(
        MAIL_PORT=smtp.port,
        POSTMARK_WEBHOOK_USERNAME=POSTMARK_USER,
        POSTMARK_WEBHOOK_PASSWORD=POSTMARK_PASSWORD,
        POSTMARK_WEBHOOK_TOKEN=POSTMARK_TOKEN,
    )


def record(kind="SpamComplaint", address="ada@example.com", record_id=42, at=None, **fields):
    bounce_type = fields.pop("Type", kind)
    return {
        "RecordType": "SpamComplaint" if kind == "SpamComplaint" else "Bounce",
        "ID": record_id,
        "Type": bounce_type,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Email": address,
        "BouncedAt": iso(at or now_utc()),
        **fields,
    }


def post(app, body: dict, headers: dict | None = None):
    return app.test_client().post(URL, data=json.dumps(body), headers=headers or {})


def test_a_complaint_with_the_right_credentials_suppresses_the_address(pm_app):
    answer = post(pm_app, record(), AUTH)
    assert answer.status_code == 200, answer.text
    assert suppression_of(pm_app, "ada@example.com") == (True, "complaint", "postmark", 0)


def test_the_token_header_works_instead_of_basic_auth(pm_app):
    headers = {"X-Mailroom-Webhook-Token": POSTMARK_TOKEN}
    assert (
        post(pm_app, record("Bounce", "hb@example.com", Type="HardBounce"), headers).status_code
        == 200
    )
    assert suppression_of(pm_app, "hb@example.com")[:2] == (True, "bounce")


def test_a_soft_bounce_is_only_counted(pm_app):
    assert (
        post(pm_app, record("Bounce", "soft@example.com", Type="SoftBounce"), AUTH).status_code
        == 200
    )
    assert suppression_of(pm_app, "soft@example.com") == (False, None, None, 1)


@pytest.mark.parametrize(
    "headers, status, why",
    [
        ({}, 401, "unsigned"),
        (basic_auth(POSTMARK_USER, "guess"), 403, "wrong"),
        (basic_auth("someone", POSTMARK_PASSWORD), 403, "wrong"),
        ({"X-Mailroom-Webhook-Token": "guess"}, 403, "wrong"),
    ],
)
def test_missing_or_wrong_credentials_are_refused(pm_app, headers, status, why):
    answer = post(pm_app, record(), headers)
    assert (answer.status_code, answer.json) == (status, {"error": why})
    if status == 401:
        assert answer.headers["WWW-Authenticate"].startswith("Basic")
    assert suppression_of(pm_app, "ada@example.com") is None


def test_a_stale_post_is_refused(pm_app):
    answer = post(pm_app, record(at=now_utc() - timedelta(hours=3)), AUTH)
    assert (answer.status_code, answer.json) == (409, {"error": "stale"})
    assert suppression_of(pm_app, "ada@example.com") is None


def test_a_replayed_post_is_refused(pm_app):
    assert post(pm_app, record(record_id=7), AUTH).status_code == 200
    again = post(pm_app, record(record_id=7), AUTH)
    assert (again.status_code, again.json) == (409, {"error": "replayed"})
    assert history_of(pm_app, "ada@example.com") == [("complaint", "postmark", None)]


def test_a_body_that_is_not_postmark_s_is_a_400_not_a_500(pm_app):
    client = pm_app.test_client()
    assert client.post(URL, data="not json", headers=AUTH).status_code == 400
    assert client.post(URL, data="[1, 2]", headers=AUTH).status_code == 400
    assert post(pm_app, {**record(), "BouncedAt": "yesterday"}, AUTH).status_code == 400
