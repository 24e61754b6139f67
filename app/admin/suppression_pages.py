"""What the suppression pages show: suppressed addresses newest first, a page at a time,
and one address with its history and the latest mail to it."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.mail import suppression
from app.mail.models import OutboxMessage
from app.mail.suppression import Suppression

PER_PAGE = 50
RECENT_MAIL = 10
# Each kind of entry in the page's words. suppression.LABELS stays English: its words are
# stored in the outbox's last_error and logged.
KIND_LABELS = {
    suppression.HARD_BOUNCE: _l("hard bounce at RCPT TO"),
    suppression.BOUNCE: _l("bounce reported by the sending service"),
    suppression.COMPLAINT: _l("spam complaint"),
    suppression.SOFT_BOUNCE: _l("soft bounce"),
    suppression.LIFTED: _l("lifted"),
}


def kind_labels() -> dict[str, str]:
    """KIND_LABELS, with the English words for any kind added since."""
    return {**suppression.LABELS, **KIND_LABELS}


@dataclass
class SuppressionPage:
    rows: list[Suppression]
    older_before: int | None  # the id to ask `before=` for the next page, if any


def suppressed(query: str | None, before: int | None) -> SuppressionPage:
    """Active suppressions, newest first (keyset on id); `query` is part of an address."""
    statement = select(Suppression).where(Suppression.active.is_(True))
    if query:
        statement = statement.where(Suppression.address.contains(query.lower(), autoescape=True))
    if before is not None:
        statement = statement.where(Suppression.id < before)
    rows = list(db.session.scalars(statement.order_by(Suppression.id.desc()).limit(PER_PAGE + 1)))
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    return SuppressionPage(rows, rows[-1].id if more else None)


def recent_mail(address: str) -> list[OutboxMessage]:
    """The latest messages to the address, through the recipient index. The list keeps
    addresses lower-cased; one typed with capitals in its local part is not found here
    (lower() on the column would read the whole outbox)."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.recipient == address)
        .order_by(OutboxMessage.id.desc())
        .limit(RECENT_MAIL)
    )
    return list(db.session.scalars(statement))
