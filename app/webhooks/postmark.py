"""Postmark bounce and spam-complaint webhooks.

Postmark signs nothing: its documented protection is HTTP basic authentication, set by
writing the credentials into the webhook URL (https://user:password@host/webhooks/postmark),
or a custom header it sends with each post. Here: POSTMARK_WEBHOOK_USERNAME and
POSTMARK_WEBHOOK_PASSWORD, or POSTMARK_WEBHOOK_TOKEN in an `X-Mailroom-Webhook-Token`
header. A post is stale by its BouncedAt time and replayed by its record's ID. Postmark's
MessageID is its own, not the one Mailroom wrote, so events match by address only.
"""

from __future__ import annotations

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
    from_iso,
)

NAME = "postmark"
TOKEN_HEADER = "X-Mailroom-Webhook-Token"  # noqa: S105 - a header's name, not a secret
# Postmark's bounce types (its Type field) that mean the address is gone, or only not now.
HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}
SOFT = {"SoftBounce", "Transient", "DnsError", "Blocked", "SMTPApiError"}


def configured(config) -> bool:
    basic = config.get("POSTMARK_WEBHOOK_USERNAME") and config.get("POSTMARK_WEBHOOK_PASSWORD")
    return bool(basic or config.get("POSTMARK_WEBHOOK_TOKEN"))


def read(request: Request) -> list[ProviderEvent]:
    authenticate(request)
    try:
        record = json.loads(request.get_data(as_text=True))
    except ValueError:
        raise Refused(MALFORMED) from None
    if not isinstance(record, dict):
        raise Refused(MALFORMED)
    max_age = timedelta(seconds=current_app.config["WEBHOOK_MAX_AGE"])
    check_fresh(from_iso(record.get("BouncedAt") or record.get("ReceivedAt")), max_age)
    nonce = f"{record.get('RecordType')}:{record.get('ID')}"
    if record.get("ID") is None or not replay.first_time(NAME, nonce, max_age):
        raise Refused(REPLAYED if record.get("ID") is not None else MALFORMED)
    event = _event(record)
    return [event] if event else []


def authenticate(request: Request) -> None:
    config = current_app.config
    token = config.get("POSTMARK_WEBHOOK_TOKEN")
    offered = request.headers.get(TOKEN_HEADER)
    if token and offered is not None:
        if not hmac.compare_digest(offered.encode(), token.encode()):
            raise Refused(WRONG)
        return
    auth = request.authorization
    user, password = (
        config.get("POSTMARK_WEBHOOK_USERNAME"),
        config.get("POSTMARK_WEBHOOK_PASSWORD"),
    )
    if auth is None or auth.type != "basic" or not (user and password):
        raise Refused(UNSIGNED)
    # Both compared whatever the first says: the time taken tells nothing.
    same_user = hmac.compare_digest((auth.username or "").encode(), user.encode())
    same_password = hmac.compare_digest((auth.password or "").encode(), password.encode())
    if not (same_user and same_password):
        raise Refused(WRONG)


def _event(record: dict) -> ProviderEvent | None:
    address = address_of(record.get("Email"))
    kind, bounce_type = record.get("RecordType"), record.get("Type")
    if address is None:
        return None
    if kind == "SpamComplaint" or bounce_type == "SpamComplaint":
        return ProviderEvent(COMPLAINT, address, None, "SpamComplaint")
    if kind != "Bounce":
        return None
    if bounce_type in HARD:
        return ProviderEvent(BOUNCE, address, None, str(bounce_type))
    if bounce_type in SOFT:
        return ProviderEvent(SOFT_BOUNCE, address, None, str(bounce_type))
    return None
