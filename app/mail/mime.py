"""The final bytes of a multipart/alternative message (text + HTML), written directly.

They are the very bytes `email.message.EmailMessage` writes with the SMTP policy (7bit, or
SMTPUTF8), same headers, folding, encodings and layout, at a tenth of the cost: the stdlib
parses and re-folds every header and quoted-printable-encodes character by character
(2.5 ms a message here, most of a request that sends mail). What is the same for every
message is cached: folded headers (sender, subjects) and the encoded lines of the layout.
tests/test_mail_compose_cache.py holds the stdlib builder and checks the two agree.
"""

from __future__ import annotations

import base64
import functools
import random
import re
import sys
from email import quoprimime
from email.headerregistry import Address
from email.policy import SMTP, SMTPUTF8
from email.utils import parseaddr

from flask_mail import BadHeaderError

# Bodies are quoted-printable/base64 unless the server speaks SMTPUTF8 (which implies
# 8BITMIME): the stdlib would otherwise send raw 8-bit text without declaring BODY=8BITMIME.
SEVEN_BIT = SMTP.clone(cte_type="7bit")
CRLF = b"\r\n"
# The policy's line limit (RFC 5322 says 78); a longer line makes a body quoted-printable
# or base64.
_MAX_LINE = SEVEN_BIT.max_line_length
# A name and value the stdlib writes unchanged: an atom-only address, our own msg-id.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MSG_ID = re.compile(r"<[0-9.]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*>")
_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))  # the stdlib's width: boundaries keep one length


def build(
    headers: dict[str, str], message_id: str, date: str, text: str, html: str, smtputf8: bool
) -> bytes:
    """The message: `headers` in order, then Date (as email.utils.format_datetime writes
    it) and Message-ID, then both parts."""
    head = [_header(name, value, smtputf8) for name, value in headers.items()]
    head.append(b"Date: " + date.encode("ascii") + CRLF)
    head.append(_message_id(message_id, smtputf8))
    plain = _part("plain", text, smtputf8, b"")
    # The stdlib's add_alternative builds the second part as a whole message, so it says
    # MIME-Version again; kept, so that the bytes stay the stdlib's.
    rich = _part("html", html, smtputf8, b"MIME-Version: 1.0\r\n")
    boundary = _boundary(plain, rich)
    return b"".join(
        (
            *head,
            b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="',
            boundary,
            b'"\r\n\r\n--' + boundary + CRLF,
            plain,
            b"\r\n--" + boundary + CRLF,
            rich,
            b"\r\n--" + boundary + b"--\r\n",
        )
    )


def as_address(value: str) -> Address:
    display, addr = parseaddr(value)
    local, _, domain = addr.rpartition("@")
    if not local or not domain:
        raise BadHeaderError(f"not an address: {value!r}")
    return Address(display_name=display, username=local, domain=domain)


def _header(name: str, value: str, smtputf8: bool) -> bytes:
    if name == "To" and _bare_ascii_address(value):
        return f"To: {value}\r\n".encode("ascii")
    # The sender, the subjects of most templates and fixed extra headers repeat: fold once.
    return _folded(name, value, smtputf8)


def _bare_ascii_address(value: str) -> bool:
    return (
        value.count("@") == 1
        and _plain_line("To", value)
        and bool(_DOT_ATOM.fullmatch(value.replace("@", ".")))
    )


def _message_id(message_id: str, smtputf8: bool) -> bytes:
    if _plain_line("Message-ID", message_id) and _MSG_ID.fullmatch(message_id):
        return f"Message-ID: {message_id}\r\n".encode("ascii")
    return fold("Message-ID", message_id, smtputf8)


def _plain_line(name: str, value: str) -> bool:
    return value.isascii() and len(name) + 2 + len(value) <= _MAX_LINE


def fold(name: str, value: str, smtputf8: bool) -> bytes:
    """One header line as the stdlib folds and encodes it (RFC 2047 words for non-ASCII
    text, unless SMTPUTF8)."""
    policy = SMTPUTF8 if smtputf8 else SEVEN_BIT
    stored = as_address(value) if name in ("From", "To") else value
    return policy.fold_binary(*policy.header_store_parse(name, stored))


_folded = functools.lru_cache(maxsize=512)(fold)


def _part(subtype: str, content: str, smtputf8: bool, trailer: bytes) -> bytes:
    cte, body = _encode(content, smtputf8)
    return b"".join(
        (
            b'Content-Type: text/%s; charset="utf-8"\r\n' % subtype.encode("ascii"),
            b"Content-Transfer-Encoding: %s\r\n" % cte,
            trailer,
            CRLF,
            body,
        )
    )


def _encode(content: str, smtputf8: bool) -> tuple[bytes, bytes]:
    """(Content-Transfer-Encoding, body with CRLF line ends), chosen as the stdlib's
    contentmanager chooses: 7bit (or 8bit with SMTPUTF8) when every line fits, else the
    shorter of quoted-printable and base64 for the first ten lines."""
    lines = content.encode("utf-8").splitlines()
    if max(map(len, lines), default=0) <= _MAX_LINE:
        joined = CRLF.join(lines) + CRLF
        if joined.isascii():
            return b"7bit", joined
        if smtputf8:
            return b"8bit", joined
    head = lines[:10]
    sniff_qp = sum(len(_qp_line(line)) for line in head)
    sniff_base64 = 4 * -(-sum(len(line) + 2 for line in head) // 3) + 1
    if sniff_qp > sniff_base64:
        raw = CRLF.join(lines) + CRLF
        return b"base64", base64.encodebytes(raw).replace(b"\n", CRLF)
    # Quoted-printable works line by line: the layout's lines are encoded once.
    return b"quoted-printable", b"".join(map(_qp_line, lines)).replace(b"\n", CRLF)


@functools.lru_cache(maxsize=4096)
def _qp_line(line: bytes) -> bytes:
    return quoprimime.body_encode(line.decode("latin-1") + "\n", _MAX_LINE).encode("ascii")


def _boundary(*parts: bytes) -> bytes:
    while True:
        token = b"=" * 15 + b"%0*d" % (_BOUNDARY_DIGITS, random.randrange(sys.maxsize)) + b"=="
        # Stricter than the stdlib's test (a delimiter line): nowhere in the parts at all.
        if not any(token in part for part in parts):
            return token
