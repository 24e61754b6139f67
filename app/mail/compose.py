"""Composing: templates/email/<name>.txt + .html into final MIME bytes, built once.

The stdlib builds the MIME rather than Flask-Mail's `Message`: that one wraps the
alternative part in multipart/mixed, mints a new `Message-ID` on every build and
lets CR/LF through `extra_headers`. Here the Message-ID is fixed on the sender's
domain and every header value is checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, make_msgid, parseaddr

import css_inline
import idna
from flask import current_app
from flask_mail import BadHeaderError
from jinja2 import Template

from app import i18n

_inliner = css_inline.CSSInliner(keep_style_tags=True)
# RFC 5322 field names: printable ASCII without ":" (so no line break, no second header).
_HEADER_NAME = re.compile(r"[!-9;-~]+")
# Bodies are quoted-printable/base64 unless the server speaks SMTPUTF8 (which implies
# 8BITMIME): the stdlib would otherwise send raw 8-bit text without declaring BODY=8BITMIME.
_SEVEN_BIT = SMTP.clone(cte_type="7bit")
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
    subject = _render_subject(template, context)
    headers["Subject"] = subject
    _refuse_line_breaks(headers)
    text, html = _render_parts(template, {**context, "subject": subject})
    envelope_from = parseaddr(sender)[1]
    message_id = make_msgid(domain=envelope_from.rpartition("@")[2])
    smtputf8 = not (wire_address(to).isascii() and envelope_from.isascii())
    mime = _build_mime(headers, message_id, text, html, smtputf8)
    return ComposedMail(
        template=template,
        sender=sender,
        envelope_from=envelope_from,
        recipient=to,
        subject=subject,
        message_id=message_id,
        text=text,
        html=html,
        mime=mime,
        smtputf8=smtputf8,
    )


def _render_subject(template: str, context: dict) -> str:
    """The subject is the `subject` block of the .txt part, so it lives beside its body."""
    tmpl: Template = current_app.jinja_env.get_template(f"email/{template}.txt")
    if "subject" not in tmpl.blocks:
        raise LookupError(f"email/{template}.txt has no {{% block subject %}}")
    block = tmpl.blocks["subject"](tmpl.new_context(context))
    subject = "".join(block).strip()
    # A line break here can only come from a value put in the subject: refuse it
    # (as Flask-Mail does) rather than send a subject the user did not write.
    if any(c in subject for c in "\r\n\0"):
        raise BadHeaderError(f"line break in the subject of email/{template}")
    return " ".join(subject.split())


def _render_parts(template: str, context: dict) -> tuple[str, str]:
    env = current_app.jinja_env
    text = env.get_template(f"email/{template}.txt").render(context).strip() + "\n"
    html = env.get_template(f"email/{template}.html").render(context)
    # Mail clients drop <style> blocks: copy the rules onto the elements themselves.
    return text, _inliner.inline(html)


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
    policy = SMTPUTF8 if smtputf8 else _SEVEN_BIT
    msg = EmailMessage(policy=policy)
    for name, value in headers.items():
        msg[name] = _as_address(value) if name in ("From", "To") else value
    # An aware UTC time writes "+0000"; formatdate(localtime=False) writes "-0000", which
    # RFC 5322 reads as "time zone unknown".
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def _as_address(value: str) -> Address:
    display, addr = parseaddr(value)
    local, _, domain = addr.rpartition("@")
    if not local or not domain:
        raise BadHeaderError(f"not an address: {value!r}")
    return Address(display_name=display, username=local, domain=domain)
