"""Amazon SES bounce and complaint notifications, delivered through an SNS topic.

Only topics named in SES_SNS_TOPIC_ARNS are heard: any AWS account can create a topic,
subscribe this URL and sign perfectly valid messages. A SubscriptionConfirmation for such
a topic is confirmed by visiting its SubscribeURL. SES keeps the Message-ID it was given
in the notification's `mail.commonHeaders.messageId`.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Request, current_app

from app.mail.suppression import BOUNCE, COMPLAINT, SOFT_BOUNCE
from app.webhooks import replay, sns
from app.webhooks.verdicts import (
    MALFORMED,
    REPLAYED,
    WRONG,
    ProviderEvent,
    Refused,
    address_of,
    check_fresh,
    from_iso,
    message_id_of,
)

NAME = "ses"


def configured(config) -> bool:
    return bool(config.get("SES_SNS_TOPIC_ARNS"))


def read(request: Request) -> list[ProviderEvent]:
    message = _json_object(request.get_data(as_text=True))
    max_age = timedelta(seconds=current_app.config["WEBHOOK_MAX_AGE"])
    if message.get("TopicArn") not in current_app.config["SES_SNS_TOPIC_ARNS"]:
        raise Refused(WRONG)
    sns.verify(message)
    check_fresh(from_iso(message.get("Timestamp")), max_age)
    if not replay.first_time(NAME, str(message.get("MessageId")), max_age):
        raise Refused(REPLAYED)
    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        sns.confirm_subscription(message)
        return []
    if kind != "Notification":
        return []
    return notification_events(_json_object(message.get("Message")))


def notification_events(notification: dict) -> list[ProviderEvent]:
    """SES's notification (or event publishing's record) as events; others say nothing."""
    kind = notification.get("notificationType") or notification.get("eventType")
    message_id = message_id_of(_common_headers(notification).get("messageId"))
    if kind == "Bounce":
        bounce = _object(notification.get("bounce"))
        # Permanent: SES itself will not deliver there again. Transient and Undetermined
        # (a full mailbox, an auto-reply) may pass later: counted only.
        event_kind = BOUNCE if bounce.get("bounceType") == "Permanent" else SOFT_BOUNCE
        detail = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
        recipients = bounce.get("bouncedRecipients")
    elif kind == "Complaint":
        complaint = _object(notification.get("complaint"))
        event_kind, recipients = COMPLAINT, complaint.get("complainedRecipients")
        detail = str(complaint.get("complaintFeedbackType") or "complaint")
    else:
        return []
    return [
        ProviderEvent(event_kind, address, message_id, detail)
        for entry in (recipients if isinstance(recipients, list) else [])
        if (address := address_of(_object(entry).get("emailAddress")))
    ]


def _common_headers(notification: dict) -> dict:
    return _object(_object(notification.get("mail")).get("commonHeaders"))


def _json_object(text) -> dict:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise Refused(MALFORMED)
    return value


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}
