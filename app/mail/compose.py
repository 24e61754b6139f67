"""Composing: templates/email/<name>.txt + .html into final MIME bytes, built once.

The bytes are the stdlib's (app/mail/mime.py writes them directly, at a tenth of the
cost), not Flask-Mail's `Message`: that one wraps the alternative part in
multipart/mixed, mints a new `Message-ID` on every build and lets CR/LF through
`extra_headers`. Here the Message-ID is fixed on the sender's domain and every header
value is checked.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid, parseaddr

import idna
from flask import current_app
from flask_mail import BadHeaderError

from app import i18n
from app.mail import mime, rendering

# RFC 5322 field names: printable ASCII without ":" (so no line break, no second header).
_HEADER_NAME = re.compile(r"[!-9;-~]+")
_RESERVED = {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version", "sender"}


@dataclass(frozen=True)
class ComposedMail:
    template: str
    sender: str
    envelope_from: str
    recipient: str
    subject: str
    message_id: str
    text: str
    html: str
    mime: bytes
    smtputf8: bool


def link_to(endpoint: str, **values) -> str:
    """An absolute link on APP_BASE_URL: never built from the request's Host header."""
    base = current_app.config["APP_BASE_URL"].rstrip("/")
    scheme, rest = base.split("://", 1)
    netloc, _, path = rest.partition("/")
    adapter = current_app.url_map.bind(netloc, script_name="/" + path, url_scheme=scheme)
    return adapter.build(endpoint, values, force_external=True)


def wire_address(address: str) -> str:
    """The address as SMTP carries it: an internationalised domain in its ASCII (IDNA) form,
    so that only a non-ASCII local part needs a server that speaks SMTPUTF8."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError:
        return address  # not encodable: it goes as UTF-8, or fails at once without SMTPUTF8


def compose(
    to: str,
    template: str,
    *,
    extra_headers: dict[str, str] | None = None,
    language: str | None = None,
    **context,
) -> ComposedMail:
    """Render both parts of `template` for `to`, in `language` (else the current page's),
    and build the message's final bytes."""
    with i18n.speaking(language or i18n.current()):
        return _compose(to, template, extra_headers, context)


def _compose(
    to: str, template: str, extra_headers: dict[str, str] | None, context: dict
) -> ComposedMail:
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    _require_bare_address(to)
    _refuse_reserved(extra_headers or {})
    headers = {"From": sender, "To": wire_address(to), **(extra_headers or {})}
    context.setdefault("base_url", current_app.config["APP_BASE_URL"].rstrip("/"))
    context = rendering.speaking(context)
    subject = rendering.subject(template, context)
    headers["Subject"] = subject
    _refuse_line_breaks(headers)
    text, html = rendering.parts(template, {**context, "subject": subject})
    envelope_from = _envelope_from(sender)
    message_id = make_msgid(domain=envelope_from.rpartition("@")[2])
    smtputf8 = not (wire_address(to).isascii() and envelope_from.isascii())
    raw = _build_mime(headers, message_id, text, html, smtputf8)
    return ComposedMail(
        template=template,
        sender=sender,
        envelope_from=envelope_from,
        recipient=to,
        subject=subject,
        message_id=message_id,
        text=text,
        html=html,
        mime=raw,
        smtputf8=smtputf8,
    )


@functools.lru_cache(maxsize=8)
def _envelope_from(sender: str) -> str:
    return parseaddr(sender)[1]


def _require_bare_address(to: str) -> None:
    # Callers pass the normalised address they stored; anything else (a list, a display
    # name, stray spaces) would make the envelope and the To header disagree.
    if parseaddr(to)[1] != to or to.count("@") != 1 or any(c in to for c in " ,;<>\r\n\t"):
        raise BadHeaderError(f"recipient must be one bare address, got {to!r}")


def _refuse_reserved(extra_headers: dict[str, str]) -> None:
    # These are the composer's: another To or Bcc would disagree with the envelope, and a
    # second Message-ID would break the one-ID-per-message promise.
    for name in extra_headers:
        if name.lower() in _RESERVED or name.lower().startswith("content-"):
            raise BadHeaderError(f"{name} is set by the composer, not by extra_headers")


def _refuse_line_breaks(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise BadHeaderError(f"not a header name: {name!r}")
        if any(c in value for c in "\r\n\0"):
            raise BadHeaderError(f"line break in the {name} header")


def _build_mime(
    headers: dict[str, str], message_id: str, text: str, html: str, smtputf8: bool
) -> bytes:
    # An aware UTC time writes "+0000"; formatdate(localtime=False) writes "-0000", which
    # RFC 5322 reads as "time zone unknown".
    date = format_datetime(datetime.now(UTC))
    return mime.build(headers, message_id, date, text, html, smtputf8)
