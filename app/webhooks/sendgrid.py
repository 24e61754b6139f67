"""SendGrid's signed event webhook: ECDSA (P-256, SHA-256) over the timestamp header
followed by the raw body, checked with the public key from SendGrid's settings.

The key is SENDGRID_WEBHOOK_PUBLIC_KEY, as SendGrid shows it (base64 of the DER key; a PEM
block works too). A post is stale by its signed timestamp and replayed by its signature.
SendGrid keeps the Message-ID it was given as each event's `smtp-id`.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

NAME = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def configured(config) -> bool:
    return bool(config.get("SENDGRID_WEBHOOK_PUBLIC_KEY"))


def read(request: Request) -> list[ProviderEvent]:
    signature = request.headers.get(SIGNATURE_HEADER)
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise Refused(UNSIGNED)
    body = request.get_data()
    verify(signature, timestamp, body)
    max_age = timedelta(seconds=current_app.config["WEBHOOK_MAX_AGE"])
    check_fresh(from_unix(timestamp), max_age)
    if not replay.first_time(NAME, signature, max_age):
        raise Refused(REPLAYED)
    try:
        posted = json.loads(body)
    except ValueError:
        raise Refused(MALFORMED) from None
    if not isinstance(posted, list):
        raise Refused(MALFORMED)
    return [event for entry in posted if (event := _event(entry))]


def verify(signature: str, timestamp: str, body: bytes) -> None:
    # Imported here: cryptography loads only in a process that checks a signature.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        raw = base64.b64decode(signature, validate=True)
        public_key(current_app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"]).verify(
            raw, timestamp.encode() + body, ec.ECDSA(hashes.SHA256())
        )
    except (ValueError, InvalidSignature):
        raise Refused(WRONG) from None


@cache
def public_key(text: str) -> ec.EllipticCurvePublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(stripped.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode(stripped))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("SENDGRID_WEBHOOK_PUBLIC_KEY is not an elliptic-curve key")
    return key


def _event(entry) -> ProviderEvent | None:
    if not isinstance(entry, dict):
        return None
    address = address_of(entry.get("email"))
    kind = entry.get("event")
    if address is None:
        return None
    message_id = message_id_of(entry.get("smtp-id"))
    if kind == "spamreport":
        return ProviderEvent(COMPLAINT, address, message_id, "spamreport")
    if kind == "bounce":
        # "bounce" is the receiving server's refusal; "blocked" (its type for a block of
        # this sender, often lifted later) is counted only.
        hard = entry.get("type", "bounce") == "bounce"
        detail = str(entry.get("bounce_classification") or entry.get("type") or "bounce")
        return ProviderEvent(BOUNCE if hard else SOFT_BOUNCE, address, message_id, detail)
    if kind == "deferred":
        return ProviderEvent(SOFT_BOUNCE, address, message_id, "deferred")
    return None
