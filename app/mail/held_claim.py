"""The claim a sender works through, its lease renewed while a send is in progress.

A send over a fresh connection waits on about ten server replies, each allowed
MAIL_TIMEOUT: longer than the 4 x MAIL_TIMEOUT lease. Rather than a longer lease (DESIGN
promises a dead sender's mail goes out elsewhere within 4 x MAIL_TIMEOUT plus the poll
interval), the sender renews the lease from its own thread before every SMTP command,
once an eighth of the lease has passed since the last renewal. No keeper thread: a
sender that stops making progress stops renewing, and its claim runs out as it should.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.mail import claims
from app.mail.transport import Withdrawn

log = logging.getLogger("mailroom.mail")


class HeldClaim:
    """The rows of one claim still this sender's and not yet finished, {id: generation}."""

    def __init__(self, claimed: list[claims.Claimed], owner: str, lease: timedelta):
        self.claimed, self.owner, self.lease = claimed, owner, lease
        self.rows = {mail.id: mail.claim_generation for mail in claimed}
        # The longest stretch without an SMTP command is connect + TLS handshake + greeting,
        # 3 x MAIL_TIMEOUT: renewing after half a MAIL_TIMEOUT keeps 3.5 of the 4 covered.
        self.renew_every = lease.total_seconds() / 8
        self.renewed_at = time.monotonic()

    def holds(self, row_id: int) -> bool:
        return row_id in self.rows

    def finished(self, row_id: int) -> None:
        """The row left `sending` by this sender's hand (or must never be handed back)."""
        self.rows.pop(row_id, None)

    def keep(self, now: bool = False) -> None:
        """Renew the lease if it is time (or `now`); forget the rows another sender took."""
        if not self.rows or (not now and time.monotonic() - self.renewed_at < self.renew_every):
            return
        try:
            held = claims.renew(self.rows, self.owner, self.lease)
        except SQLAlchemyError:
            # The database is away: no other sender can take the rows from it either.
            db.session.rollback()
            log.warning("mail sender %s: could not renew its lease", self.owner, exc_info=True)
            return
        self.renewed_at = time.monotonic()
        for row_id in set(self.rows) - held:
            log.warning("mail sender %s: lost its claim on outbox #%d", self.owner, row_id)
            del self.rows[row_id]

    def keeper_for(self, row_id: int) -> Callable[[], None]:
        """The hook for one send: renew, and withdraw the message if it is ours no more."""

        def before_command() -> None:
            self.keep()
            if row_id not in self.rows:
                raise Withdrawn(f"outbox #{row_id} was taken over by another sender")

        return before_command

    def hand_back(self, reason: str | None = None) -> None:
        """Release every row not yet finished, untouched."""
        rows, self.rows = self.rows, {}
        claims.release(rows, self.owner, reason)
