""" "A mail was asked for this address": what a stranger's form records, and what the
senders later make of it.

Sign-up, resend and reset requests only insert one row here, whatever the address, so the
answer costs the same for a registered and an unknown one (no timing tells them apart).
A sender thread resolves the rows before each claim (`resolve_due`): it looks the address
up, decides which email (if any) that address should get, and queues it in the same
transaction that deletes the request, so each request gives at most one email, once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import DateTime, Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from app import clock, i18n
from app.extensions import db

log = logging.getLogger("mailroom.auth")

SIGNUP, RESEND, RESET, CHANGE_EMAIL = "signup", "resend", "reset", "change_email"
KINDS = (SIGNUP, RESEND, RESET, CHANGE_EMAIL)
# Requests resolved per transaction: each costs a template render (a few ms), so a burst of
# requests never holds the claim-side lock for long.
RESOLVE_BATCH = 20


class AccountMailRequest(db.Model):
    __tablename__ = "account_mail_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The canonical address as typed (it may have no account: nothing here says which).
    address: Mapped[str] = mapped_column(String(320))
    # Who asked, for a change of address (the address is then the new one).
    user_id: Mapped[int | None] = mapped_column(Integer)
    # The emailed code made for the browser that asked (app.auth.codes), if any.
    code_id: Mapped[int | None] = mapped_column(Integer)
    # The language of the page that asked: the email is written in it (unless the
    # address's owner chose another), so a pending sign-up reads its mail in its language.
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow)


def record(
    kind: str, address: str, *, user_id: int | None = None, code_id: int | None = None
) -> None:
    """Note the request and commit; the same statements whoever owns the address."""
    if kind not in KINDS:
        raise ValueError(f"unknown account mail request {kind!r}")
    request = AccountMailRequest(
        kind=kind,
        address=address,
        user_id=user_id,
        code_id=code_id,
        locale=i18n.current(),
        created_at=clock.utcnow(),
    )
    db.session.add(request)
    db.session.commit()
    wake = current_app.extensions.get("mailroom.wake")
    if wake is not None:
        wake()


def resolve_due(limit: int = RESOLVE_BATCH) -> int:
    """Turn up to `limit` requests into queued mail; returns how many were resolved."""
    taken = _take(limit)
    for request in taken:
        _resolve_one(request)
    db.session.commit()
    return len(taken)


def _take(limit: int) -> list[tuple]:
    """Delete and return the oldest requests in one statement: two senders never take the
    same one (PostgreSQL skips rows another holds; SQLite serialises writers)."""
    table = AccountMailRequest.__table__
    pick = select(table.c.id).order_by(table.c.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    statement = (
        delete(table)
        .where(table.c.id.in_(pick.scalar_subquery()))
        .returning(
            table.c.id,
            table.c.kind,
            table.c.address,
            table.c.user_id,
            table.c.code_id,
            table.c.locale,
        )
    )
    return sorted(db.session.execute(statement).all())


def _resolve_one(request) -> None:
    """Queue what this request calls for, inside a savepoint: one request that cannot be
    turned into mail (a template error, say) is logged and dropped, not retried forever,
    and never takes the others of its batch with it."""
    from app.auth import emails

    _, kind, address, user_id, code_id, locale = request
    try:
        with db.session.begin_nested():
            emails.answer_request(kind, address, user_id, code_id, locale)
    except Exception:  # noqa: BLE001 - one bad request must not block the rest
        log.exception("account mail request %s could not be resolved; dropped", kind)


def register(app) -> None:
    """Have every sender of this app resolve requests before each claim."""
    hooks = app.extensions.setdefault("mailroom.before_claim", [])
    hooks.append(resolve_due)
