"""Live links and one-time codes hidden from whoever reads stored mail, such as an admin on
the outbox pages: a reset link inside its hour is someone else's account.

A link is live when it points into APP_BASE_URL at a route with a `token` variable. The
routes come from the app's url_map, so a new emailed link is covered the day its route
exists. Codes are hidden in mail whose template names a code in its context comment.
"""

from __future__ import annotations

import email
import email.policy
import re
from urllib.parse import urlsplit

from flask import current_app
from jinja2 import TemplateNotFound
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter

TOKEN_MASK = "(hidden)"  # noqa: S105 - what replaces a token, not one
CODE_MASK = "(hidden code)"
# Where a link ends in text or HTML: whitespace, a quote, a bracket. Trailing punctuation
# belongs to the sentence, not the link.
_LINK_REST = r"(/[^\s\"'<>()\[\]]*)"
_SENTENCE_END = ".,;:!?"
# A code as mails show it: "ABCD-EFGH" (two groups) or 6-8 letters and digits with a digit
# in them; never part of a word, a link, an address or a colour ("#1E3A8A").
CODE = re.compile(
    r"(?<![\w#/.=:@-])"
    r"(?:[A-Z0-9]{3,4}[- ][A-Z0-9]{3,4}|(?=[A-Z]*[0-9])[A-Z0-9]{6,8})"
    r"(?![\w/.@-])"
)
# A template's context comment that lists a `code` (or `..._code`) variable.
_CODE_IN_CONTEXT = re.compile(r"\b(?:\w+_)?code\b")


def mask_secrets(text: str, *, codes: bool = False) -> str:
    """`text` with the token of every live link replaced by TOKEN_MASK, and with `codes`,
    every one-time code by CODE_MASK. Everything else is left as it was."""
    base = current_app.config["APP_BASE_URL"].rstrip("/")
    adapter, prefix = _adapter(base)
    links = re.compile(re.escape(base) + _LINK_REST)
    text = links.sub(lambda found: base + _masked_path(adapter, prefix, found.group(1)), text)
    return CODE.sub(CODE_MASK, text) if codes else text


def carries_codes(template: str) -> bool:
    """Whether mail made from `template` can hold a one-time code: its context comment
    (the first line of every email template) names one."""
    env = current_app.jinja_env
    try:
        source, _, _ = env.loader.get_source(env, f"email/{template}.txt")
    except TemplateNotFound:
        return False
    comment = re.match(r"\s*\{#(.*?)#\}", source, re.DOTALL)
    return bool(comment and _CODE_IN_CONTEXT.search(comment.group(1)))


def masked_mime(mime: bytes, *, codes: bool = False) -> bytes:
    """The stored message with its secrets masked inside each decoded part, re-serialised:
    still a valid message, with every header and part it had."""
    message = email.message_from_bytes(mime, policy=email.policy.SMTP)
    _mask_headers(message, codes)
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        content = part.get_content()
        masked = mask_secrets(content, codes=codes)
        if masked != content:
            part.set_content(masked, subtype=part.get_content_subtype(), charset="utf-8")
    return message.as_bytes()


def _mask_headers(message, codes: bool) -> None:
    masked = [
        (name, str(value), mask_secrets(str(value), codes=codes)) for name, value in message.items()
    ]
    changed = {name.lower() for name, value, new in masked if new != value}
    for name in changed:
        # Every header of that name goes back, masked and in its order, after the others.
        values = [new for other, _, new in masked if other.lower() == name]
        del message[name]
        for value in values:
            message[name] = value


def _adapter(base: str) -> tuple[MapAdapter, str]:
    parts = urlsplit(base)
    prefix = parts.path.rstrip("/")
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=prefix or "/", url_scheme=parts.scheme
    )
    return adapter, prefix


def _masked_path(adapter: MapAdapter, prefix: str, link: str) -> str:
    """`link` (the path after APP_BASE_URL, with any query) with its token masked when it
    opens a route that takes one."""
    trailing = len(link) - len(link.rstrip(_SENTENCE_END))
    link, after = link[: len(link) - trailing], link[len(link) - trailing :]
    path, sep, rest = _split(link)
    try:
        endpoint, values = adapter.match(path, method="GET")
    except HTTPException:  # no such page, or one that redirects: nothing live
        return link + after
    if "token" not in values:
        return link + after
    built = adapter.build(endpoint, {**values, "token": TOKEN_MASK})
    return built[len(prefix) :] + sep + rest + after


def _split(link: str) -> tuple[str, str, str]:
    """(path, "?" or "#" or "", what follows it)."""
    found = re.search(r"[?#]", link)
    if found is None:
        return link, "", ""
    return link[: found.start()], found.group(), link[found.end() :]
