"""The one place Mailroom asks the time, so tests can move it instead of sleeping."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)
