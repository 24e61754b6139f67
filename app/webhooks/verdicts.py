"""What every provider module hands back: the events a post reports, or why it is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app import clock

UNSIGNED, WRONG, STALE, REPLAYED, MALFORMED = "unsigned", "wrong", "stale", "replayed", "malformed"
# How each refusal is answered: no credentials 401, a bad one 403, an old or repeated post
# 409 (the provider stops retrying either way soon), a body that is not the provider's 400.
STATUS = {UNSIGNED: 401, WRONG: 403, STALE: 409, REPLAYED: 409, MALFORMED: 400}
# Longest address any provider could report (RFC 5321 path limit).
MAX_ADDRESS = 320
_FRACTION = re.compile(r"(\.\d{6})\d+")


class Refused(Exception):  # noqa: N818 - it names what happened to the post
    """The post is not believed: `why` in fixed words, never the post's own text."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why
        self.status = STATUS[why]


@dataclass(frozen=True)
class ProviderEvent:
    """One bounce, complaint or soft bounce that a provider reports about one address."""

    kind: str  # app.mail.suppression: BOUNCE, COMPLAINT or SOFT_BOUNCE
    address: str
    message_id: str | None = None
    detail: str | None = None


def check_fresh(moment: datetime, max_age: timedelta) -> None:
    """Refuse a post signed too long ago (or too far ahead: a clock that far off is no
    clock to trust)."""
    if abs(clock.utcnow() - moment) > max_age:
        raise Refused(STALE)


def from_unix(value) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value).strip()), UTC).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError):
        raise Refused(MALFORMED) from None


def from_iso(value) -> datetime:
    """ISO 8601 as providers write it, seven fractional digits (Postmark) or a Z included."""
    if not isinstance(value, str):
        raise Refused(MALFORMED)
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Refused(MALFORMED) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def address_of(value) -> str | None:
    """A reported address worth recording, or None (not a string, no @, absurdly long)."""
    if not isinstance(value, str) or "@" not in value or len(value) > MAX_ADDRESS:
        return None
    if any(ord(c) < 33 or ord(c) == 127 for c in value):
        return None
    return value.strip()


def message_id_of(value) -> str | None:
    """The Message-ID as the outbox stores it, in angle brackets (Mailgun drops them)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        return None
    bare = value.strip().strip("<>")
    return f"<{bare}>"
