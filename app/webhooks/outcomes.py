"""What a verified post changes: bounces and complaints suppress the address, soft bounces
are counted, and each is tied to the outbox row it is about when the Message-ID is known."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.mail import suppression
from app.mail.models import OutboxMessage
from app.webhooks.verdicts import ProviderEvent


def record(provider: str, events: list[ProviderEvent]) -> None:
    """Apply `events` in the caller's transaction (with the post's nonce: all or nothing)."""
    for event in events:
        if event.kind == suppression.SOFT_BOUNCE:
            suppression.count_soft_bounce(event.address, provider)
            continue
        outbox_id = outbox_row_for(event.message_id)
        suppression.add(event.address, event.kind, provider, event.detail, outbox_id)


def outbox_row_for(message_id: str | None) -> int | None:
    """The outbox row that sent this Message-ID (unique index), if it is still there."""
    if not message_id:
        return None
    return db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.message_id == message_id))
