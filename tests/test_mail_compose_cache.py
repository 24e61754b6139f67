"""The fast composer writes what the plain one writes: for every email template, in every
language, with the preview sample data, the very bytes of a plain Jinja render (Flask-Babel
looking the catalogue up on each call), CSS inlined on the whole page, and the stdlib's
EmailMessage. Its caches never give one language's text for another, never keep a
template's old text, and hold across threads. No database: composing never touches one."""

from __future__ import annotations

import email
import email.policy
import random
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.policy import SMTPUTF8

import css_inline
import pytest
from flask import current_app
from jinja2 import DictLoader

from app import create_app, i18n
from app.mail import mime
from app.mail.compose import ComposedMail, compose, wire_address
from app.mail.previews import SAMPLE_ADDRESS, SAMPLES, template_names
from tests.conftest import add_templates, base_config
from tests.outbox_helpers import PROBE

BASE_URL = "https://mailroom.example"
ADDRESSES = [
    SAMPLE_ADDRESS,
    "a+tag@example.com",
    "o'brien@example.com",
    "x" * 70 + "@example.com",
    "zoë@example.com",  # SMTPUTF8
    "ada@exämple.org",  # IDNA on the wire, still ASCII
]
NAMES = [
    "Ada",
    "Zoë",
    "A" * 400,
    "Zoë " * 40,
    "=?utf-8?q?Ada?=",
    'Ada "the" <b>Lovelace</b> & co',
    "日本語のテキスト" * 12,
]
EXTRA_HEADERS = [
    None,
    {"X-Ref": "r-1"},
    {"X-Ref": "Zoë " * 30},
    {"List-Unsubscribe": f"<{BASE_URL}/u/{'x' * 90}>"},
]
_inliner = css_inline.CSSInliner(keep_style_tags=True)


@pytest.fixture(scope="module")
def mail_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compose-cache")
    app = create_app(base_config(f"sqlite:///{folder / 'unused.db'}"))
    add_templates(app, PROBE)
    with app.app_context():
        yield app


def plain(mail: ComposedMail, template: str, language: str, context: dict, extra=None):
    """(text, html, bytes) as composed before any cache: a plain render and the stdlib's
    builder, given `mail`'s Date, Message-ID and boundary (the random and timed parts)."""
    env = current_app.jinja_env
    with i18n.speaking(language):
        ctx = {"base_url": BASE_URL, **context}
        txt = env.get_template(f"email/{template}.txt")
        subject = " ".join("".join(txt.blocks["subject"](txt.new_context(ctx))).split())
        ctx["subject"] = subject
        text = txt.render(ctx).strip() + "\n"
        html = _inliner.inline(env.get_template(f"email/{template}.html").render(ctx))
    headers = {"From": mail.sender, "To": wire_address(mail.recipient), **(extra or {})}
    headers["Subject"] = subject
    return text, html, stdlib_bytes(mail.mime, headers, mail.message_id, text, html, mail.smtputf8)


def stdlib_bytes(ours: bytes, headers: dict, message_id: str, text: str, html: str, utf8: bool):
    """The message as email.message.EmailMessage builds it, with our Date and boundary."""
    parsed = parse(ours)
    msg = EmailMessage(policy=SMTPUTF8 if utf8 else mime.SEVEN_BIT)
    for name, value in headers.items():
        msg[name] = mime.as_address(value) if name in ("From", "To") else value
    msg["Date"] = str(parsed["Date"])
    msg["Message-ID"] = message_id
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    msg.set_boundary(parsed.get_boundary())
    return msg.as_bytes()


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def reading(raw: bytes) -> list:
    """What a mail client makes of the message: every header, and each part's type,
    encoding and decoded text."""
    msg = parse(raw)
    parts = [
        (p.get_content_type(), p["Content-Transfer-Encoding"], p.get_content())
        for p in msg.iter_parts()
    ]
    return [list(map(str, msg.items())), msg.get_content_type(), parts]


def assert_same(mail: ComposedMail, template: str, language: str, context: dict, extra=None):
    text, html, expected = plain(mail, template, language, context, extra)
    assert (mail.text, mail.html) == (text, html), (template, language)
    assert reading(mail.mime) == reading(expected), (template, language, mail.recipient)
    assert mail.mime == expected, (template, language, mail.recipient)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_template_is_the_plain_build_byte_for_byte(mail_app, language):
    names = [name for name in template_names() if name != "probe"]
    assert set(names) == set(SAMPLES)
    for name in names:
        context = SAMPLES[name]()
        for to in (SAMPLE_ADDRESS, "zoë@exämple.org"):
            mail = compose(to, name, language=language, **context)
            assert_same(mail, name, language, context)


def test_user_values_in_subject_and_body_build_as_the_stdlib_does(mail_app):
    # Non-ASCII and long subjects (RFC 2047 words, folding), look-alike encoded words,
    # markup, long and non-ASCII addresses, long lines (quoted-printable or base64).
    cases = [(n, ADDRESSES[(i + k) % len(ADDRESSES)]) for i, n in enumerate(NAMES) for k in (0, 3)]
    assert {to for _, to in cases} == set(ADDRESSES)
    for i, (name, to) in enumerate(cases):
        extra = EXTRA_HEADERS[i % len(EXTRA_HEADERS)]
        context = {"name": name, "url": f"{BASE_URL}/a?b=c&d={name[:20]}"}
        mail = compose(to, "probe", extra_headers=extra, language="en", **context)
        assert_same(mail, "probe", "en", context, extra)


def random_body(rng: random.Random) -> str:
    alphabet = ["a", "b", " ", "\t", "=", ".", "-", "ä", "日", "\n", "\n", "\r\n", "\r", "\x0c"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 400)))


EDGE_BODIES = [
    "",
    "x",
    "a" * 78 + "\n" + "b" * 79 + "\n",
    "a" * 77 + " \n" + "a" * 76 + "\t\n" + "a" * 75 + " \n" + "a" * 74 + " ",
    "=" * 200,
    "a" * 74 + "=b" + "c" * 10 + "\n" + "a" * 75 + "=" + "c" * 10,
    "ascii\n" * 12 + "Zoë " * 30,  # the first ten lines decide: quoted-printable
    "日本語" * 40 + "\n" + "ascii\n" * 12,  # base64
    "line\u2028with\x85odd\x1cbreaks" * 8,
    "From the start\n.dot\n\n\n",
]


@pytest.mark.parametrize("smtputf8", [False, True])
def test_bodies_are_encoded_as_the_stdlib_encodes_them(smtputf8):
    rng = random.Random(11)
    bodies = EDGE_BODIES + [random_body(rng) for _ in range(40)]
    headers = {"From": "Mailroom <no-reply@mailroom.example>", "To": "ada@example.com"}
    headers["Subject"] = "Zoë" if smtputf8 else "Hello"
    for i, text in enumerate(bodies):
        html = bodies[-1 - i]
        ours = mime.build(
            headers,
            "<1.2.3@mailroom.example>",
            "Sat, 28 Nov 2026 19:10:22 +0000",
            text,
            html,
            smtputf8,
        )
        expected = stdlib_bytes(ours, headers, "<1.2.3@mailroom.example>", text, html, smtputf8)
        assert ours == expected, (text, html)


def test_languages_never_mix_in_a_row_or_across_threads(mail_app):
    context = SAMPLES["confirm_email"]()
    first = {
        lang: compose(SAMPLE_ADDRESS, "confirm_email", language=lang, **context)
        for lang in ("en", "de")
    }
    assert first["en"].html != first["de"].html and first["en"].subject != first["de"].subject
    for lang in ("en", "de", "en", "de"):
        mail = compose(SAMPLE_ADDRESS, "confirm_email", language=lang, **context)
        assert_same(mail, "confirm_email", lang, context)

    def write(n):
        lang = ("en", "de")[n % 2]
        with mail_app.app_context():
            mail = compose(SAMPLE_ADDRESS, "confirm_email", language=lang, **context)
        return lang, mail

    with ThreadPoolExecutor(max_workers=4) as pool:
        for lang, mail in pool.map(write, range(24)):
            expected = first[lang]
            assert (mail.subject, mail.text, mail.html) == (
                expected.subject,
                expected.text,
                expected.html,
            )
            assert reading(mail.mime)[2] == reading(expected.mime)[2]


def test_an_edited_template_is_used_at_once_when_templates_reload(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'unused.db'}", TEMPLATES_AUTO_RELOAD=True))
    assert app.jinja_env.auto_reload
    sources = dict(PROBE)
    add_templates(app, sources)
    loader = app.jinja_loader.loaders[0]
    assert isinstance(loader, DictLoader) and loader.mapping is sources
    with app.app_context():
        for lang in ("en", "de"):
            before = compose("ada@example.com", "probe", language=lang, name="Ada", url="x")
            assert before.subject == "Hello Ada"
        sources["email/probe.txt"] = sources["email/probe.txt"].replace("Hello", "Welcome")
        sources["email/probe.html"] = sources["email/probe.html"].replace("Hi", "Welcome")
        for lang in ("en", "de"):
            after = compose("ada@example.com", "probe", language=lang, name="Ada", url="x")
            assert after.subject == "Welcome Ada"
            assert "Welcome Ada" in after.html and "Hi Ada" not in after.html
            assert parse(after.mime)["Subject"] == "Welcome Ada"
