"""Reading one caught message for people, whatever its bytes hold.

The catcher keeps anything an SMTP client sends, so nothing here may raise on a malformed
header, an unknown charset or a broken MIME tree: each falls back to the plainest reading
(the raw text), and says so in a note. The raw bytes themselves are served untouched.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.policy import default as default_policy
from html.parser import HTMLParser

from flask_babel import gettext as _

# A page shows this much of a part; the raw source always has all of it (a 20 MB message
# would otherwise take the browser with it).
SHOWN_TEXT_LIMIT = 256 * 1024
SHOWN_HTML_LIMIT = 1024 * 1024
# Headers the message page shows first, as a mail client does.
MAIN_HEADERS = ("From", "To", "Cc", "Reply-To", "Date", "Message-ID")
URL_PATTERN = re.compile(r"https?://[^\s<>\"'\]]+[^\s<>\"'\]).,;:!?]")
# Control characters (tab and line breaks aside) mean nothing on a page; some break it.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class ReadMessage:
    subject: str
    headers: list[tuple[str, str]]
    text: str | None = None
    html: str | None = None
    links: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        """The first header called `name` (any case), or ""."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), "")

    @property
    def main_headers(self) -> list[tuple[str, str]]:
        return [(name, value) for name in MAIN_HEADERS if (value := self.header(name))]


def read_headers(raw: bytes) -> list[tuple[str, str]]:
    """Every header, decoded as well as it decodes; the header block only is parsed."""
    message = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
    return [(_clean(name), header_text(name, value)) for name, value in message.raw_items()]


def read(raw: bytes) -> ReadMessage:
    """The message's headers, text and HTML parts, and the links in them."""
    # compat32 keeps header values as received (it never parses an address or an id), so
    # walking the tree and listing headers cannot fail on what a header says.
    message = message_from_bytes(raw, policy=compat32)
    headers = [(_clean(name), header_text(name, value)) for name, value in message.raw_items()]
    found = ReadMessage(subject="", headers=headers)
    found.subject = found.header("Subject") or _("(no subject)")
    found.text = _first_part(message, "text/plain", SHOWN_TEXT_LIMIT, found.notes)
    found.html = _first_part(message, "text/html", SHOWN_HTML_LIMIT, found.notes)
    found.links = _links(found.text, found.html)
    if found.text is None and found.html is None:
        found.notes.append(_("This message has no text or HTML part to show: see its raw source."))
    return found


def header_text(name: str, value: str) -> str:
    """A header value for people: encoded words decoded where they decode, else as sent."""
    text = _unescape(value)
    try:
        decoded = str(default_policy.header_factory(name, text))
    except Exception:  # noqa: BLE001 - the stdlib's header parsers raise many kinds on bad input
        decoded = _decoded_words(text)
    return _clean(" ".join(decoded.split()))


def text_pieces(text: str) -> list[tuple[bool, str]]:
    """Split plain text into (is_link, piece) so a template can link the URLs."""
    pieces, position = [], 0
    for match in URL_PATTERN.finditer(text):
        pieces.append((False, text[position : match.start()]))
        pieces.append((True, match.group()))
        position = match.end()
    pieces.append((False, text[position:]))
    return [piece for piece in pieces if piece[1]]


def _first_part(message: Message, content_type: str, limit: int, notes: list[str]) -> str | None:
    for part in message.walk():
        if part.get_content_type() == content_type and not _is_attachment(part):
            return _part_text(part, limit, notes)
    return None


def _is_attachment(part: Message) -> bool:
    return (part.get("Content-Disposition") or "").strip().lower().startswith("attachment")


def _part_text(part: Message, limit: int, notes: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):  # a text/* part that claims to be multipart
        payload = str(part.get_payload()).encode("utf-8", "surrogateescape")
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, "replace")
    except (LookupError, ValueError):  # unknown, not a text codec, or not a name at all
        name = _clean(charset)[:60]
        notes.append(
            _(
                "A part names the charset %(charset)s, which is unknown here: it is shown as "
                "UTF-8.",
                charset=name,
            )
        )
        text = payload.decode("utf-8", "replace")
    if len(text) > limit:
        size, shown = f"{len(text):,}", f"{limit:,}"
        notes.append(
            _(
                "A part is %(size)s characters long: the first %(shown)s are shown. "
                "The raw source has all of it.",
                size=size,
                shown=shown,
            )
        )
        text = text[:limit]
    return _clean(text)


def _decoded_words(text: str) -> str:
    try:
        return str(make_header(decode_header(text)))
    except Exception:  # noqa: BLE001 - a malformed encoded word: show it as sent
        return text


def _unescape(value: str) -> str:
    """The parser keeps 8-bit header bytes as surrogates; read them as UTF-8 (else U+FFFD)."""
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _clean(text: str) -> str:
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", _unescape(text))


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
        # Broken markup: keep the links read before it.
        with contextlib.suppress(Exception):
            collector.feed(html)
        found += collector.links
    if text:
        found += URL_PATTERN.findall(text)
    return list(dict.fromkeys(found))
