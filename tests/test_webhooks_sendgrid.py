"""SendGrid's signed event webhook: ECDSA P-256 over the timestamp and the raw body, with a
key pair the test makes; refused when unsigned, wrong, stale or replayed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.outbox_helpers import queue, stored
from tests.webhook_helpers import SendGridSigner, history_of, now_utc, suppression_of

URL = "/webhooks/sendgrid"


@pytest.fixture
def signer():
    return SendGridSigner()


@pytest.fixture
def sg_app(make_app, smtp, signer):
    return make_app(MAIL_PORT=smtp.port, SENDGRID_WEBHOOK_PUBLIC_KEY=signer.public_key)


def events(*entries) -> bytes:
    return json.dumps(list(entries)).encode()


def event(kind, address, **fields) -> dict:
    return {"email": address, "event": kind, "timestamp": 1795000000, "sg_event_id": "e1", **fields}


def post(app, body: bytes, headers: dict):
    return app.test_client().post(
        URL, data=body, headers={**headers, "Content-Type": "application/json"}
    )


def test_signed_events_suppress_bounces_and_complaints_and_count_the_rest(sg_app, signer):
    [row_id] = queue(sg_app, "ada@example.com")
    message_id = stored(sg_app, row_id).message_id
    body = events(
        event("spamreport", "ada@example.com", **{"smtp-id": message_id}),
        event("bounce", "gone@example.com", type="bounce"),
        event("bounce", "blocked@example.com", type="blocked"),
        event("deferred", "slow@example.com"),
        event("delivered", "fine@example.com"),
    )
    answer = post(sg_app, body, signer.headers(body))
    assert answer.status_code == 200, answer.text
    assert answer.json == {"recorded": 4}
    assert history_of(sg_app, "ada@example.com") == [("complaint", "sendgrid", row_id)]
    assert suppression_of(sg_app, "gone@example.com")[:2] == (True, "bounce")
    assert suppression_of(sg_app, "blocked@example.com") == (False, None, None, 1)
    assert suppression_of(sg_app, "slow@example.com") == (False, None, None, 1)
    assert suppression_of(sg_app, "fine@example.com") is None


@pytest.mark.parametrize("why", ["unsigned", "wrong", "other key", "tampered", "stale"])
def test_posts_not_signed_now_by_the_key_are_refused(sg_app, signer, why):
    body = events(event("spamreport", "eve@example.com"))
    at = now_utc() - timedelta(hours=2) if why == "stale" else None
    headers = signer.headers(body, at, key=SendGridSigner().key if why == "other key" else None)
    if why == "unsigned":
        headers = {}
    elif why == "wrong":
        headers["X-Twilio-Email-Event-Webhook-Signature"] = "bm90IGEgc2lnbmF0dXJl"
    elif why == "tampered":
        body = events(event("spamreport", "ada@example.com"))
    answer = post(sg_app, body, headers)
    word = why if why in ("unsigned", "stale") else "wrong"
    assert (answer.status_code, answer.json["error"]) == (
        {"unsigned": 401, "stale": 409}.get(why, 403),
        word,
    )
    assert suppression_of(sg_app, "eve@example.com") is None
    assert suppression_of(sg_app, "ada@example.com") is None


def test_a_replayed_post_is_refused(sg_app, signer):
    body = events(event("spamreport", "r@example.com"))
    headers = signer.headers(body)
    assert post(sg_app, body, headers).status_code == 200
    again = post(sg_app, body, headers)
    assert (again.status_code, again.json) == (409, {"error": "replayed"})
    assert history_of(sg_app, "r@example.com") == [("complaint", "sendgrid", None)]


def test_a_batch_larger_than_a_form_is_taken(sg_app, signer):
    filler = [event("delivered", f"user{n}@example.com") for n in range(1500)]
    body = events(event("spamreport", "big@example.com"), *filler)
    assert len(body) > 64 * 1024  # past the forms' limit
    assert post(sg_app, body, signer.headers(body)).status_code == 200
    assert suppression_of(sg_app, "big@example.com")[:2] == (True, "complaint")
