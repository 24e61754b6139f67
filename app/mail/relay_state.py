"""Which relay the senders use, as they last recorded it: the primary, or the fallback since
when and why. Read by the admin pages and /healthz; written by relays.py on each switch."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

log = logging.getLogger("mailroom.mail")
PRIMARY, FALLBACK = "primary", "fallback"


class RelayState(db.Model):
    """The last switch between relays, one row per primary relay."""

    __tablename__ = "mail_relay"

    primary: Mapped[str] = mapped_column(String(300), primary_key=True)
    in_use: Mapped[str] = mapped_column(String(300))
    # Set while the fallback is in use: when the primary failed, and how.
    since: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class RelayInUse:
    relay: str
    role: str
    since: datetime | None = None
    reason: str | None = None


def in_use(config) -> RelayInUse:
    """The relay in use as the senders last recorded it (for the admin page and /healthz)."""
    primary = f"{config.get('MAIL_SERVER') or 'localhost'}:{config.get('MAIL_PORT') or 25}"
    if not config.get("MAIL_FALLBACK_SERVER"):
        return RelayInUse(primary, PRIMARY)
    row = db.session.scalar(select(RelayState).where(RelayState.primary == primary))
    if row is None or row.in_use == primary:
        return RelayInUse(primary, PRIMARY)
    return RelayInUse(row.in_use, FALLBACK, row.since, row.reason)


def record(primary: str, in_use: str, reason: str | None, since: datetime | None) -> None:
    """Write the switch with a connection of its own: the sender's session holds its claim."""
    table = RelayState.__table__
    values = {"in_use": in_use, "reason": reason, "since": since}
    try:
        with db.engine.begin() as conn:
            changed = conn.execute(
                table.update().where(table.c.primary == primary).values(**values)
            ).rowcount
            if not changed:
                conn.execute(table.insert().values(primary=primary, **values))
    except Exception:  # noqa: BLE001 - the status line must never stop sending
        log.exception("mail relay: could not record the relay in use")


def describe(config) -> dict:
    """The relay in use for /healthz details and the admin page (admins only: it names hosts)."""
    now = in_use(config)
    return {
        "in_use": now.role,
        "relay": now.relay,
        "since": now.since.isoformat() + "Z" if now.since else None,
        "reason": now.reason,
    }
