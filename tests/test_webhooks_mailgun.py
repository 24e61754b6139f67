"""Mailgun: HMAC-SHA256 of timestamp and token with the webhook signing key; refused when
unsigned, wrong, stale or replayed (a token seen before)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.outbox_helpers import queue, stored
from tests.webhook_helpers import MAILGUN_KEY, history_of, mailgun_post, now_utc, suppression_of

URL = "/webhooks/mailgun"


@pytest.fixture
def mg_app(make_app, smtp):
    return make_app(MAIL_PORT=smtp.port, MAILGUN_WEBHOOK_SIGNING_KEY=MAILGUN_KEY)


def complaint(address="ada@example.com", message_id=None) -> dict:
    headers = {"message-id": message_id} if message_id else {}
    return {"event": "complained", "recipient": address, "message": {"headers": headers}}


def failure(address, severity) -> dict:
    return {"event": "failed", "severity": severity, "recipient": address, "reason": "bounce"}


def post(app, body: dict):
    return app.test_client().post(URL, json=body)


def test_a_signed_complaint_suppresses_the_address_matched_by_message_id(mg_app):
    [row_id] = queue(mg_app, "ada@example.com")
    bare = stored(mg_app, row_id).message_id.strip("<>")  # Mailgun drops the brackets
    answer = post(mg_app, mailgun_post(complaint(message_id=bare)))
    assert answer.status_code == 200, answer.text
    assert history_of(mg_app, "ada@example.com") == [("complaint", "mailgun", row_id)]


def test_a_permanent_failure_suppresses_and_a_temporary_one_is_counted(mg_app):
    assert post(mg_app, mailgun_post(failure("gone@example.com", "permanent"))).status_code == 200
    assert post(mg_app, mailgun_post(failure("full@example.com", "temporary"))).status_code == 200
    assert suppression_of(mg_app, "gone@example.com")[:2] == (True, "bounce")
    assert suppression_of(mg_app, "full@example.com") == (False, None, None, 1)


@pytest.mark.parametrize("why", ["unsigned", "wrong", "other key", "stale"])
def test_posts_not_signed_now_with_the_key_are_refused(mg_app, why):
    at = now_utc() - timedelta(hours=2) if why == "stale" else None
    key = "another-key" if why == "other key" else MAILGUN_KEY
    body = mailgun_post(complaint("eve@example.com"), at=at, key=key)
    if why == "unsigned":
        del body["signature"]
    elif why == "wrong":
        body["signature"]["signature"] = "0" * 64
    answer = post(mg_app, body)
    word = why if why in ("unsigned", "stale") else "wrong"
    assert (answer.status_code, answer.json["error"]) == (
        {"unsigned": 401, "stale": 409}.get(why, 403),
        word,
    )
    assert suppression_of(mg_app, "eve@example.com") is None


def test_a_replayed_token_is_refused(mg_app):
    body = mailgun_post(complaint("r@example.com"))
    assert post(mg_app, body).status_code == 200
    again = post(mg_app, body)
    assert (again.status_code, again.json) == (409, {"error": "replayed"})
    assert history_of(mg_app, "r@example.com") == [("complaint", "mailgun", None)]


def test_malformed_posts_are_400s(mg_app):
    client = mg_app.test_client()
    assert client.post(URL, data="{").status_code == 400
    assert client.post(URL, data=json.dumps([1])).status_code == 400
    bad_time = mailgun_post(complaint())
    bad_time["signature"]["timestamp"] = "soon"
    assert post(mg_app, bad_time).status_code in (400, 403)


def test_posts_are_rate_limited_per_client(make_app, smtp):
    app = make_app(
        MAIL_PORT=smtp.port, MAILGUN_WEBHOOK_SIGNING_KEY=MAILGUN_KEY, RATELIMIT_ENABLED=True
    )
    client = app.test_client()
    answers = [client.post(URL, json={}).status_code for _ in range(601)]
    assert answers[:600] == [401] * 600  # unsigned, each refused on its own merits
    assert answers[600] == 429
    other = client.post(URL, json={}, environ_base={"REMOTE_ADDR": "127.0.0.9"})
    assert other.status_code == 401  # another client is not held back
