"""At most one failed sign-in per backoff step, across every sender of every process.

A wrong password used to make each sender back off alone: Postfix saw 10 failed AUTHs in
5 s from one app; fail2ban's stock jail bans after 5 and providers lock accounts. Senders
share one row per relay and login here. While sign-in is unproven (never succeeded, or
failed since), a sender may try only after taking the row's slot, one at a time; each
failure pushes the next try out by a step that doubles. Times are the database's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, false, or_, select, true, update
from sqlalchemy.orm import Mapped, mapped_column

from app.db import dialect_insert
from app.extensions import db
from app.mail.db_clock import utc_now

# The first step after a failure, in seconds; each further failure doubles it, up to
# MAIL_TRANSPORT_BACKOFF_MAX (the senders' own cap).
FIRST_STEP = 1.0
MAX_REASON = 500


class SignInGate(db.Model):
    __tablename__ = "mail_sign_in"

    # "<server>:<port> <login>": one gate per relay and login.
    relay: Mapped[str] = mapped_column(String(600), primary_key=True)
    proven: Mapped[bool] = mapped_column(default=False, server_default=false())
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # No sender tries before this (the database's clock); NULL: the slot is free.
    next_try_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class Verdict:
    admitted: bool
    proven: bool
    failures: int = 0
    reason: str | None = None
    next_try_at: datetime | None = None


def step(failures: int, cap: float) -> float:
    return min(cap, FIRST_STEP * 2 ** max(failures - 1, 0))


def admit(key: str, hold: float) -> Verdict:
    """May this sender sign in now? A proven gate lets everyone through without a write; an
    unproven one lets one sender take the slot for `hold` seconds."""
    table = SignInGate.__table__
    with db.engine.begin() as conn:
        row = conn.execute(select(table).where(table.c.relay == key)).first()
        if row is not None and row.proven:
            return Verdict(True, True)
        if row is None:
            conn.execute(_insert_if_missing(conn, key))
        taken = conn.execute(
            update(table)
            .where(
                table.c.relay == key,
                table.c.proven == false(),
                or_(table.c.next_try_at.is_(None), table.c.next_try_at <= utc_now()),
            )
            .values(next_try_at=utc_now(hold))
        ).rowcount
        if taken:
            return Verdict(True, False, row.failures if row else 0)
        row = conn.execute(select(table).where(table.c.relay == key)).first()
        return Verdict(False, bool(row.proven), row.failures, row.reason, row.next_try_at)


def passed(key: str) -> None:
    table = SignInGate.__table__
    with db.engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.relay == key)
            .values(proven=true(), failures=0, next_try_at=None, reason=None)
        )


def refused(key: str, reason: str, cap: float) -> float:
    """Record a failed sign-in; returns the seconds until anyone may try again."""
    table = SignInGate.__table__
    with db.engine.begin() as conn:
        failures = conn.execute(select(table.c.failures).where(table.c.relay == key)).scalar()
        wait = step((failures or 0) + 1, cap)
        conn.execute(
            update(table)
            .where(table.c.relay == key)
            .values(
                proven=false(),
                failures=table.c.failures + 1,
                next_try_at=utc_now(wait),
                reason=reason[:MAX_REASON],
            )
        )
    return wait


def release(key: str) -> None:
    """The slot's holder never got to AUTH (the link failed first): free the slot."""
    table = SignInGate.__table__
    with db.engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.relay == key, table.c.proven == false())
            .values(next_try_at=None)
        )


def _insert_if_missing(conn, key: str):
    values = {"relay": key, "proven": False, "failures": 0}
    insert = dialect_insert(conn.dialect.name)
    return insert(SignInGate.__table__).values(**values).on_conflict_do_nothing()
