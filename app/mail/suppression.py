"""The suppression list: addresses that get no more mail, why, since when, and their history.

An address goes on it when its server refused it outright at RCPT TO (a hard bounce) or a
sending service reports a bounce or a complaint (app.webhooks). Mail to it is then recorded
as suppressed at enqueue, security notices included: they would bounce too. An admin lifts
it; each step is kept as history. Soft bounces are only counted.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
    bindparam,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.db import dialect_insert
from app.extensions import db
from app.mail.smtp_failures import FAILED, DeliveryError, storable

HARD_BOUNCE, BOUNCE, COMPLAINT, SOFT_BOUNCE, LIFTED = (
    "hard_bounce",
    "bounce",
    "complaint",
    "soft_bounce",
    "lifted",
)
# What each kind of entry says on the admin pages and in a suppressed row's reason.
LABELS = {
    HARD_BOUNCE: "hard bounce at RCPT TO",
    BOUNCE: "bounce reported by the sending service",
    COMPLAINT: "spam complaint",
    SOFT_BOUNCE: "soft bounce",
    LIFTED: "lifted",
}
SMTP = "smtp"
# An enhanced status code (RFC 3463) in a 5xx reply: class.subject.detail.
_ENHANCED = re.compile(r"\b5\.(\d{1,3})\.(\d{1,3})\b")
# Without an enhanced code, the basic replies that mean "no such mailbox" (RFC 5321).
_MAILBOX_CODES = (550, 551, 553)


class Suppression(db.Model):
    """One row per address ever suppressed or soft-bounced; `active` says whether mail stops."""

    __tablename__ = "mail_suppression"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Lower-cased: providers and servers do not keep the case of what they were sent.
    address: Mapped[str] = mapped_column(String(320), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime | None] = mapped_column(DateTime)
    soft_bounces: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_soft_bounce_at: Mapped[datetime | None] = mapped_column(DateTime)


class SuppressionEvent(db.Model):
    """The history: each suppression and each lift, newest last."""

    __tablename__ = "mail_suppression_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    # The outbox row the event is about, when known (no foreign key: purges delete rows).
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    # Who lifted it (an admin's address), for a lift.
    actor: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow)


def canonical(address: str) -> str:
    return address.strip().lower()


_table = Suppression.__table__


# Asked on every enqueue, inside the request: run as Core on the session's connection (same
# transaction), which costs a fifth of the ORM's execution path for the same one-row lookup.
def _active_entry_of(parameter: str):
    """The WHERE of an active entry for the canonical address bound as `parameter`."""
    return (_table.c.address == bindparam(parameter)) & _table.c.active.is_(True)


_ACTIVE_ENTRY = select(_table.c.kind, _table.c.source, _table.c.since).where(
    _active_entry_of("address")
)


def listed(value: str):
    """A scalar subquery: `value` if the bound `listed_address` (canonical) is on the list,
    else NULL. Lets the outbox's INSERT ask the list in the same statement."""
    return select(literal(value)).where(_active_entry_of("listed_address")).scalar_subquery()


def reason_for(address: str) -> str | None:
    """Why mail to `address` must not go out (it is on the list), or None: one index lookup."""
    connection = db.session.connection()
    row = connection.execute(_ACTIVE_ENTRY, {"address": canonical(address)}).first()
    if row is None:
        return None
    when = f" on {row.since:%Y-%m-%d}" if row.since else ""
    return f"on the suppression list: {LABELS.get(row.kind, row.kind)} ({row.source}){when}"


def hard_bounce_reply(error: DeliveryError) -> bool:
    """A 5xx at RCPT TO that says the mailbox does not exist or is gone for good.

    Not every 5xx there is about the mailbox: 5.7.x is policy (our reputation, a relay
    rule), which a later message may pass, so it fails that message only. Replies about the
    sender never get here: the transport calls them a setting (transport kind)."""
    if error.kind != FAILED or error.code is None or not 500 <= error.code < 600:
        return False
    if not error.reason.endswith("(at RCPT TO)"):
        return False
    enhanced = _ENHANCED.search(error.reason)
    if enhanced:
        subject, detail = enhanced.groups()
        # 5.1.x: bad address or domain; 5.2.1: mailbox disabled.
        return subject == "1" or (subject, detail) == ("2", "1")
    return error.code in _MAILBOX_CODES


def note_failure(recipient: str, error: DeliveryError, outbox_id: int | None = None) -> bool:
    """Suppress the recipient if `error` is a hard bounce; True if it was. Not committed."""
    if not hard_bounce_reply(error):
        return False
    add(recipient, HARD_BOUNCE, SMTP, error.reason, outbox_id)
    return True


def add(
    address: str, kind: str, source: str, detail: str | None = None, outbox_id: int | None = None
) -> None:
    """Put `address` on the list (again) with why; in the caller's transaction."""
    address, now = canonical(address), clock.utcnow()
    detail = storable(detail) if detail else None
    _ensure_row(address)
    db.session.execute(
        update(Suppression)
        .where(Suppression.address == address)
        .values(active=True, kind=kind, source=source, detail=detail, since=now)
    )
    _history(address, kind, source, detail, outbox_id)


def count_soft_bounce(address: str, source: str) -> None:
    """A soft bounce is counted, never suppressed: the mailbox may take mail tomorrow."""
    address = canonical(address)
    _ensure_row(address)
    db.session.execute(
        update(Suppression)
        .where(Suppression.address == address)
        .values(soft_bounces=Suppression.soft_bounces + 1, last_soft_bounce_at=clock.utcnow())
    )


def lift(address: str, actor: str) -> bool:
    """Take `address` off the list; False if it was not on it. Not committed."""
    address = canonical(address)
    lifted = db.session.execute(
        update(Suppression)
        .where(Suppression.address == address, Suppression.active.is_(True))
        .values(active=False, since=clock.utcnow())
    )
    if lifted.rowcount != 1:
        return False
    _history(address, LIFTED, "admin", None, None, actor)
    return True


def history(address: str, limit: int = 200) -> list[SuppressionEvent]:
    query = (
        select(SuppressionEvent)
        .where(SuppressionEvent.address == canonical(address))
        .order_by(SuppressionEvent.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def active_count(cap: int) -> int:
    """Suppressed addresses, counting no further than `cap` (a metric reads this)."""
    rows = select(Suppression.id).where(Suppression.active.is_(True)).limit(cap).subquery()
    return db.session.scalar(select(func.count()).select_from(rows)) or 0


def _ensure_row(address: str) -> None:
    """The address's row exists afterwards, even when two posts race to create it."""
    db.session.execute(
        dialect_insert(db.engine.dialect.name)(Suppression)
        .values(address=address, active=False, soft_bounces=0)
        .on_conflict_do_nothing(index_elements=["address"])
    )


def _history(
    address: str,
    kind: str,
    source: str,
    detail: str | None,
    outbox_id: int | None,
    actor: str | None = None,
) -> None:
    db.session.add(
        SuppressionEvent(
            address=address,
            kind=kind,
            source=source,
            detail=detail,
            outbox_id=outbox_id,
            actor=actor,
            created_at=clock.utcnow(),
        )
    )
