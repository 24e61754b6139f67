"""Every email as its reader meets it: who is writing (a wordmark above the card, "Mailroom"
in the subject), a friendly greeting, and each button's link also written out for mail
clients that show no buttons. Checked on every template, through the real composer."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from app.mail.previews import SAMPLES, render_preview


class _Anchors(HTMLParser):
    """Each link in order: its class, its href and its text; and where the card starts."""

    def __init__(self):
        super().__init__()
        self.anchors: list[dict] = []
        self.order: list[str] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        self.order += [name for name in ("wordmark", "card") if name in classes]
        if tag == "a":
            self._open = {"class": classes, "href": attrs.get("href"), "text": ""}
            self.anchors.append(self._open)

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "a":
            self._open = None


def _read(html: str) -> _Anchors:
    parser = _Anchors()
    parser.feed(html)
    return parser


@pytest.fixture
def previews(app):
    with app.app_context():
        yield {name: render_preview(name) for name in SAMPLES}


def test_every_subject_names_mailroom(previews):
    for name, preview in previews.items():
        assert "Mailroom" in preview.mail.subject, name


def test_every_email_opens_with_the_wordmark_above_the_card(previews):
    for name, preview in previews.items():
        read = _read(preview.mail.html)
        assert read.order[:2] == ["wordmark", "card"], name
        wordmark = read.anchors[0]
        assert wordmark["text"].startswith("Mailroom"), name
        assert wordmark["href"] == "https://mailroom.example", name


def test_every_button_has_its_link_written_out_under_it(previews):
    buttons = 0
    for name, preview in previews.items():
        anchors = _read(preview.mail.html).anchors
        for index, anchor in enumerate(anchors):
            if "button" not in anchor["class"]:
                continue
            buttons += 1
            following = anchors[index + 1] if index + 1 < len(anchors) else {}
            assert following.get("href") == anchor["href"], f"{name}: {anchor['text']}"
            assert following["text"].strip() == anchor["href"], name
    assert buttons >= len(previews) - 1  # every email but the test email has one


def test_every_email_greets_its_reader_warmly_in_both_parts(previews):
    for name, preview in previews.items():
        assert "Hi there," in preview.mail.text, name
        assert "Hi there," in preview.mail.html, name
        assert "Hello," not in preview.mail.text + preview.mail.html, name
