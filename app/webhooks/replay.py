"""Posts seen before: each provider's nonce, kept until a post carrying it would be stale.

A signature proves who wrote a post, not that it is new: anyone who saw one (a proxy's log,
a leaked capture) could send it again. The first post with a nonce wins; later ones are
refused. Nonces are stored hashed (fixed length, nothing an attacker chose verbatim).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import DateTime, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db

# Expired nonces deleted per post: a little housekeeping each time, never a long delete.
PURGE_BATCH = 100


class WebhookNonce(db.Model):
    __tablename__ = "webhook_nonce"
    __table_args__ = (UniqueConstraint("provider", "digest", name="uq_webhook_nonce"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


def first_time(provider: str, nonce: str, keep_for: timedelta) -> bool:
    """Remember `nonce` in the caller's transaction; False if it was seen before."""
    now = clock.utcnow()
    _purge_expired(now)
    digest = hashlib.sha256(nonce.encode("utf-8", "replace")).hexdigest()
    try:
        with db.session.begin_nested():
            db.session.add(
                WebhookNonce(provider=provider, digest=digest, expires_at=now + keep_for)
            )
    except IntegrityError:
        return False
    return True


def _purge_expired(now: datetime) -> None:
    expired = select(WebhookNonce.id).where(WebhookNonce.expires_at < now).limit(PURGE_BATCH)
    db.session.execute(delete(WebhookNonce).where(WebhookNonce.id.in_(expired.scalar_subquery())))
