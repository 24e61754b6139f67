"""The dev catcher's folder for /dev/mailbox: summaries newest first, one message, deleting.

Files are named by arrival time (see app/mail/catcher.py), so sorting names sorts mail.
An id is a file name without its suffix, checked against a strict pattern before use.
Making sense of a message's bytes is app/dev/reading.py's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask_babel import gettext as _

from app.dev import reading
from app.mail.catcher import SUFFIX

ID_PATTERN = re.compile(r"\d{10,24}-[0-9a-f]{8}")
# The list stays quick however long a dev session runs.
LIST_LIMIT = 200
# The list reads only the start of each file: headers live there, a 20 MB body does not.
HEADER_BYTES = 64 * 1024


@dataclass
class Summary:
    id: str
    subject: str
    sender: str
    to: str
    received_at: datetime


@dataclass
class CaughtMail:
    id: str
    received_at: datetime
    size: int
    message: reading.ReadMessage


def summaries(folder: Path, limit: int = LIST_LIMIT) -> list[Summary]:
    """The newest `limit` messages, newest first."""
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.name, reverse=True)[:limit]
    return [_summary(path) for path in paths if ID_PATTERN.fullmatch(path.stem)]


def load(folder: Path, message_id: str) -> CaughtMail | None:
    """One message, read as well as it reads; None if the id is malformed or unknown."""
    raw = raw_bytes(folder, message_id)
    if raw is None:
        return None
    return CaughtMail(
        id=message_id,
        received_at=_received_at(message_id),
        size=len(raw),
        message=reading.read(raw),
    )


def raw_bytes(folder: Path, message_id: str) -> bytes | None:
    """The message exactly as the catcher received it."""
    path = _path(folder, message_id)
    return path.read_bytes() if path is not None else None


def delete(folder: Path, message_id: str) -> bool:
    path = _path(folder, message_id)
    if path is None:
        return False
    path.unlink(missing_ok=True)
    return True


def clear(folder: Path) -> int:
    """Delete every caught message; returns how many."""
    paths = list(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
    for path in paths:
        path.unlink(missing_ok=True)
    return len(paths)


def framed_html(html: str) -> str:
    """The HTML part for the sandboxed frame: its links open in the whole window."""
    base = '<base target="_top">'
    head = re.search(r"<head[^>]*>", html, re.IGNORECASE)
    if head:
        return html[: head.end()] + base + html[head.end() :]
    return base + html


def _path(folder: Path, message_id: str) -> Path | None:
    if not ID_PATTERN.fullmatch(message_id):
        return None
    path = folder / f"{message_id}{SUFFIX}"
    return path if path.is_file() else None


def _summary(path: Path) -> Summary:
    with path.open("rb") as handle:
        start = handle.read(HEADER_BYTES)
    # Only the header block: a body cut at HEADER_BYTES does not matter here.
    headers = dict((name.lower(), value) for name, value in reversed(reading.read_headers(start)))
    return Summary(
        id=path.stem,
        subject=headers.get("subject") or _("(no subject)"),
        sender=headers.get("from", ""),
        to=headers.get("to", ""),
        received_at=_received_at(path.stem),
    )


def _received_at(message_id: str) -> datetime:
    nanoseconds = int(message_id.split("-", 1)[0])
    try:
        return datetime.fromtimestamp(nanoseconds / 1e9, UTC)
    except (OverflowError, ValueError, OSError):  # a file not named by the catcher
        return datetime.fromtimestamp(0, UTC)
