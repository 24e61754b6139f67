"""Reading the dev catcher's folder for /dev/mailbox: summaries newest first, one message whole.

Files are named by arrival time (see app/mail/catcher.py), so sorting names sorts mail.
An id is a file name without its suffix, checked against a strict pattern before use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from html.parser import HTMLParser
from pathlib import Path

from app.mail.catcher import SUFFIX

ID_PATTERN = re.compile(r"\d{10,24}-[0-9a-f]{8}")
URL_PATTERN = re.compile(r"https?://[^\s<>\"'\]]+[^\s<>\"'\]).,;:!?]")
# The list stays quick however long a dev session runs.
LIST_LIMIT = 200


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
    subject: str
    received_at: datetime
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    raw: bytes
    links: list[str] = field(default_factory=list)


def summaries(folder: Path, limit: int = LIST_LIMIT) -> list[Summary]:
    """The newest `limit` messages, newest first."""
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.name, reverse=True)[:limit]
    parser = BytesHeaderParser(policy=default_policy)
    found = []
    for path in paths:
        with path.open("rb") as handle:
            headers = parser.parse(handle)
        found.append(
            Summary(
                id=path.stem,
                subject=str(headers["Subject"] or "(no subject)"),
                sender=str(headers["From"] or ""),
                to=str(headers["To"] or ""),
                received_at=_received_at(path.stem),
            )
        )
    return found


def load(folder: Path, message_id: str) -> CaughtMail | None:
    """One message, or None if the id is malformed or unknown."""
    if not ID_PATTERN.fullmatch(message_id):
        return None
    path = folder / f"{message_id}{SUFFIX}"
    if not path.is_file():
        return None
    raw = path.read_bytes()
    message = message_from_bytes(raw, policy=default_policy)
    text, html = _body(message, "plain"), _body(message, "html")
    return CaughtMail(
        id=message_id,
        subject=str(message["Subject"] or "(no subject)"),
        received_at=_received_at(message_id),
        headers=[(name, str(value)) for name, value in message.items()],
        text=text,
        html=html,
        raw=raw,
        links=_links(text, html),
    )


def clear(folder: Path) -> int:
    """Delete every caught message; returns how many."""
    paths = list(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
    for path in paths:
        path.unlink(missing_ok=True)
    return len(paths)


def text_pieces(text: str) -> list[tuple[bool, str]]:
    """Split plain text into (is_link, piece) so a template can link the URLs."""
    pieces, position = [], 0
    for match in URL_PATTERN.finditer(text):
        pieces.append((False, text[position : match.start()]))
        pieces.append((True, match.group()))
        position = match.end()
    pieces.append((False, text[position:]))
    return [piece for piece in pieces if piece[1]]


def framed_html(html: str) -> str:
    """The HTML part for the sandboxed frame: its links open in the whole window."""
    base = '<base target="_top">'
    head = re.search(r"<head[^>]*>", html, re.IGNORECASE)
    if head:
        return html[: head.end()] + base + html[head.end() :]
    return base + html


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else None


def _received_at(message_id: str) -> datetime:
    nanoseconds = int(message_id.split("-", 1)[0])
    return datetime.fromtimestamp(nanoseconds / 1e9, UTC)


class _LinkCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href and href.startswith(("http://", "https://")):
            self.links.append(href)


def _links(text: str | None, html: str | None) -> list[str]:
    found = []
    if html:
        collector = _LinkCollector()
        collector.feed(html)
        found += collector.links
    if text:
        found += URL_PATTERN.findall(text)
    return list(dict.fromkeys(found))
