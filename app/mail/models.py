"""The outbox as data: one row per message, one row per delivery attempt, one per sender."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db

QUEUED, SENDING, SENT, FAILED, SUPPRESSED, EXPIRED = (
    "queued",
    "sending",
    "sent",
    "failed",
    "suppressed",
    "expired",
)
STATUSES = (QUEUED, SENDING, SENT, FAILED, SUPPRESSED, EXPIRED)


class OutboxMessage(db.Model):
    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Fixed at enqueue and inside `mime`, so every attempt carries the same Message-ID.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    template: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    # The final RFC 5322 bytes: senders only speak SMTP. Purged (NULL) once old and sent.
    mime: Mapped[bytes | None] = mapped_column(LargeBinary)
    smtputf8: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow)
    # A reset mail is worthless once its link has expired: never send it after this.
    not_after: Mapped[datetime | None] = mapped_column(DateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    # Read from the database's clock, never a host's: hosts' clocks differ.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    # Bumped by every claim; every later change of the claimed row checks it with the
    # owner, so a sender whose lease ran out and was taken over changes nothing.
    claim_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Account mail with live links: its body is dropped in the statement marking it sent.
    sensitive: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_error: Mapped[str | None] = mapped_column(Text)
    smtp_reply: Mapped[str | None] = mapped_column(Text)
    relay: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="message",
        order_by="DeliveryAttempt.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


# By status, then in the order senders claim queued mail: a claim reads its batch off the
# front (no sort of the whole backlog, 3 ms a claim at 2,000 queued and growing with it),
# with the status as a bound parameter; counts by status use its first column.
Index(
    "ix_mail_outbox_queue",
    OutboxMessage.status,
    OutboxMessage.priority.desc(),
    OutboxMessage.next_attempt_at,
)


# The outbox by status in id order: a status filter's pages (newest first, by id), counts by
# status up to a cap, and the oldest waiting rows, each read off one end of a range.
Index("ix_mail_outbox_status_id", OutboxMessage.status, OutboxMessage.id)


class DeliveryAttempt(db.Model):
    __tablename__ = "mail_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("mail_outbox.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    # sent, retry or failed: how this attempt was classified.
    outcome: Mapped[str] = mapped_column(String(16))
    smtp_code: Mapped[int | None] = mapped_column(Integer)
    smtp_reply: Mapped[str | None] = mapped_column(Text)
    error_class: Mapped[str | None] = mapped_column(String(64))
    relay: Mapped[str | None] = mapped_column(String(255))
    sender_name: Mapped[str | None] = mapped_column(String(128))

    message: Mapped[OutboxMessage] = relationship(back_populates="attempt_log")


class SenderState(db.Model):
    """One row per live sender thread: heartbeat and transport health, for /healthz and admins."""

    __tablename__ = "mail_sender"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime)
    backoff_until: Mapped[datetime | None] = mapped_column(DateTime)


# Tables of their own modules, imported here so that every app knows the whole schema.
from app.mail.relay_state import RelayState  # noqa: E402, F401
from app.mail.sign_in_gate import SignInGate  # noqa: E402, F401
