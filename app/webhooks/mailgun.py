"""Mailgun webhooks: HMAC-SHA256 of the timestamp followed by the token, keyed with the
HTTP webhook signing key (MAILGUN_WEBHOOK_SIGNING_KEY), as Mailgun documents.

A post is stale by its signed timestamp and replayed by its token. Mailgun keeps the
Message-ID it was given in `event-data.message.headers.message-id`, without brackets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

from flask import Request, current_app

from app.mail.suppression import BOUNCE, COMPLAINT, SOFT_BOUNCE
from app.webhooks import replay
from app.webhooks.verdicts import (
    MALFORMED,
    REPLAYED,
    UNSIGNED,
    WRONG,
    ProviderEvent,
    Refused,
    address_of,
    check_fresh,
    from_unix,
    message_id_of,
)

NAME = "mailgun"


def configured(config) -> bool:
    return bool(config.get("MAILGUN_WEBHOOK_SIGNING_KEY"))


def read(request: Request) -> list[ProviderEvent]:
    try:
        posted = json.loads(request.get_data(as_text=True))
    except ValueError:
        raise Refused(MALFORMED) from None
    if not isinstance(posted, dict):
        raise Refused(MALFORMED)
    signed = posted.get("signature")
    fields = ("timestamp", "token", "signature")
    if not isinstance(signed, dict) or not all(
        isinstance(signed.get(k), str) and signed.get(k) for k in fields
    ):
        raise Refused(UNSIGNED)
    verify(signed["timestamp"], signed["token"], signed["signature"])
    max_age = timedelta(seconds=current_app.config["WEBHOOK_MAX_AGE"])
    check_fresh(from_unix(signed["timestamp"]), max_age)
    if not replay.first_time(NAME, signed["token"], max_age):
        raise Refused(REPLAYED)
    event = _event(posted.get("event-data"))
    return [event] if event else []


def verify(timestamp: str, token: str, signature: str) -> None:
    key = current_app.config["MAILGUN_WEBHOOK_SIGNING_KEY"].encode()
    expected = hmac.new(key, (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise Refused(WRONG)


def _event(data) -> ProviderEvent | None:
    if not isinstance(data, dict):
        return None
    address = address_of(data.get("recipient"))
    if address is None:
        return None
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    headers = message.get("headers") if isinstance(message.get("headers"), dict) else {}
    message_id = message_id_of(headers.get("message-id"))
    kind = data.get("event")
    if kind == "complained":
        return ProviderEvent(COMPLAINT, address, message_id, "complained")
    if kind == "failed":
        permanent = data.get("severity") == "permanent"
        detail = str(data.get("reason") or data.get("severity") or "failed")
        return ProviderEvent(BOUNCE if permanent else SOFT_BOUNCE, address, message_id, detail)
    return None
