"""The dev mail catcher and /dev/mailbox: mail sent in development is readable in the browser."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from app.extensions import db
from app.mail import send_email
from app.mail.catcher import Catcher
from tests.conftest import csrf_token, wait_for
from tests.smtp_server import free_port

PASSWORD = "correct horse battery staple"


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "dev-mailbox"


@pytest.fixture
def catcher(folder):
    server = Catcher(folder, "127.0.0.1", free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def dev_app(make_app, catcher, folder, senders):
    app = make_app(
        APP_ENV="development",
        TESTING=True,
        APP_BASE_URL="http://127.0.0.1:5000",
        MAIL_PORT=catcher.port,
        DEV_MAILBOX_DIR=str(folder),
    )
    senders(app)
    return app


def _caught(folder, count=1):
    return wait_for(lambda: len(list(folder.glob("*.eml"))) >= count)


def test_a_signup_link_is_readable_and_opens_the_password_page(dev_app, folder):
    client = dev_app.test_client()
    token = csrf_token(client.get("/signup").get_data(as_text=True))
    response = client.post("/signup", data={"email": "ada@example.com", "csrf_token": token})
    assert response.status_code == 302
    _caught(folder)

    listing = client.get("/dev/mailbox").get_data(as_text=True)
    assert "ada@example.com" in listing
    message_path = _first_message_path(listing)
    page = client.get(message_path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "From" in html and "no-reply@mailroom.example" in html
    assert 'sandbox="allow-popups' in html
    confirm_link = _confirmation_link(html)
    assert f'<a href="{confirm_link}">' in html  # clickable in the text part too

    framed = client.get(f"{message_path}/html")
    assert framed.status_code == 200
    assert framed.headers["Content-Security-Policy"].startswith("sandbox ")
    assert "script-src" not in framed.headers["Content-Security-Policy"]
    assert '<base target="_top">' in framed.get_data(as_text=True)
    assert confirm_link in framed.get_data(as_text=True)

    path = confirm_link.removeprefix("http://127.0.0.1:5000")
    opened = client.get(path)
    assert opened.status_code == 200
    assert "Choose your password" in opened.get_data(as_text=True)


def test_newest_mail_is_listed_first_with_headers_and_text(dev_app, folder):
    with dev_app.app_context():
        send_email("first@example.com", "test_email")
        db.session.commit()
        _caught(folder, 1)
        send_email("second@example.com", "test_email")
        db.session.commit()
    _caught(folder, 2)
    client = dev_app.test_client()
    listing = client.get("/dev/mailbox").get_data(as_text=True)
    assert listing.index("second@example.com") < listing.index("first@example.com")
    page = client.get(_first_message_path(listing)).get_data(as_text=True)
    assert "Mailroom test email" in page
    assert "If you can read this, Mailroom can deliver mail" in page
    assert "Message-ID" in page
    raw = client.get(f"{_first_message_path(listing)}/raw")
    assert raw.mimetype == "text/plain"
    assert "multipart/alternative" in raw.get_data(as_text=True)


def test_html_in_caught_mail_cannot_run_in_the_page(dev_app, catcher, folder):
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "x@example.com", "y@example.com", "<b>hi</b>"
    mail.set_content("plain <script>alert(1)</script>")
    mail.add_alternative("<p onclick='x()'>hi</p><script>alert(2)</script>", subtype="html")
    with smtplib.SMTP(catcher.host, catcher.port, timeout=5) as smtp:
        smtp.send_message(mail)
    _caught(folder)
    client = dev_app.test_client()
    listing = client.get("/dev/mailbox").get_data(as_text=True)
    assert "&lt;b&gt;hi&lt;/b&gt;" in listing
    page = client.get(_first_message_path(listing)).get_data(as_text=True)
    assert "<script>" not in page
    framed = client.get(f"{_first_message_path(listing)}/html")
    assert "allow-scripts" not in framed.headers["Content-Security-Policy"]


def test_unknown_and_malformed_ids_are_not_found(dev_app):
    client = dev_app.test_client()
    for message_id in ("1234567890123456789-deadbeef", "..%2F..%2Fetc%2Fpasswd", "x"):
        assert client.get(f"/dev/mailbox/{message_id}").status_code == 404
        assert client.get(f"/dev/mailbox/{message_id}/html").status_code == 404


def test_clearing_the_mailbox_needs_a_form_token(dev_app, folder):
    with dev_app.app_context():
        send_email("ada@example.com", "test_email")
        db.session.commit()
    _caught(folder)
    client = dev_app.test_client()
    assert client.post("/dev/mailbox/clear").status_code == 400
    token = csrf_token(client.get("/dev/mailbox").get_data(as_text=True))
    response = client.post("/dev/mailbox/clear", data={"csrf_token": token})
    assert response.status_code == 302
    assert list(folder.glob("*.eml")) == []
    assert "No mail yet" in client.get("/dev/mailbox").get_data(as_text=True)


def test_mailbox_says_when_no_catcher_listens(make_app, tmp_path):
    app = make_app(
        APP_ENV="development", TESTING=True, MAIL_PORT=free_port(), DEV_MAILBOX_DIR=str(tmp_path)
    )
    page = app.test_client().get("/dev/mailbox").get_data(as_text=True)
    assert "Nothing is listening" in page


def test_no_mailbox_and_no_catcher_outside_development(app, runner):
    assert app.test_client().get("/dev/mailbox").status_code == 404
    result = runner.invoke(args=["mail", "catcher"])
    assert result.exit_code != 0
    assert "only with APP_ENV=development" in result.output


def _raw_mail(headers: str, body: bytes = b"Hello.\r\n") -> bytes:
    lines = ["From: x@example.com", *headers.splitlines()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _twenty_megabytes() -> bytes:
    line = b"A long dev message line https://example.com/path and some more text\r\n"
    body = line * (20 * 1024 * 1024 // len(line) + 1)
    return _raw_mail("To: big@example.com\nSubject: Twenty megabytes", body)


# What the catcher accepts and the mailbox once answered 500 to: until that file was
# deleted by hand, the list itself (with the only "delete all" button) was gone.
MALFORMED = {
    "to-a-lone-quote": _raw_mail('To: "\nSubject: lone quote'),
    "to-an-open-domain-literal": _raw_mail("To: a@[\nSubject: open literal"),
    "to-a-broken-encoded-word": _raw_mail("To: =?utf-8?b?@?=\nSubject: broken word"),
    "unknown-charset": _raw_mail(
        "To: y@example.com\nSubject: odd charset\n"
        'Content-Type: text/plain; charset="x-no-such-charset"',
        b"caf\xe9\r\n",
    ),
    "message-id-of-brackets": _raw_mail("To: y@example.com\nSubject: ids\nMessage-ID: <<<>>>"),
    "twenty-megabytes": _twenty_megabytes(),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_the_mailbox_shows_any_message_the_catcher_accepts(dev_app, catcher, folder, name):
    raw = MALFORMED[name]
    with smtplib.SMTP(catcher.host, catcher.port, timeout=30) as smtp:
        smtp.sendmail("x@example.com", ["y@example.com"], raw)
    _caught(folder)
    client = dev_app.test_client()

    listing = client.get("/dev/mailbox")
    assert listing.status_code == 200
    message_path = _first_message_path(listing.get_data(as_text=True))
    page = client.get(message_path)
    assert page.status_code == 200
    assert "Raw source" in page.get_data(as_text=True)
    source = client.get(f"{message_path}/raw")
    assert source.status_code == 200
    assert source.data == raw  # the bytes as received, whatever they say


def test_an_unknown_charset_is_read_as_utf8_and_said(dev_app, catcher, folder):
    with smtplib.SMTP(catcher.host, catcher.port, timeout=5) as smtp:
        smtp.sendmail("x@example.com", ["y@example.com"], MALFORMED["unknown-charset"])
    _caught(folder)
    client = dev_app.test_client()
    listing = client.get("/dev/mailbox").get_data(as_text=True)
    page = client.get(_first_message_path(listing)).get_data(as_text=True)
    assert "x-no-such-charset, which is unknown here" in page
    assert "caf\N{REPLACEMENT CHARACTER}" in page


def test_a_huge_message_shows_its_start_and_keeps_the_rest_in_the_raw_source(
    dev_app, catcher, folder
):
    with smtplib.SMTP(catcher.host, catcher.port, timeout=30) as smtp:
        smtp.sendmail("x@example.com", ["big@example.com"], MALFORMED["twenty-megabytes"])
    _caught(folder)
    client = dev_app.test_client()
    listing = client.get("/dev/mailbox").get_data(as_text=True)
    assert "Twenty megabytes" in listing
    page = client.get(_first_message_path(listing))
    assert len(page.data) < 1024 * 1024  # the page shows the start, not 20 MB
    assert "The raw source has all of it." in page.get_data(as_text=True)


def test_one_message_can_be_deleted_from_its_page(dev_app, catcher, folder):
    with smtplib.SMTP(catcher.host, catcher.port, timeout=5) as smtp:
        smtp.sendmail("x@example.com", ["y@example.com"], MALFORMED["to-a-lone-quote"])
        smtp.sendmail("x@example.com", ["y@example.com"], _raw_mail("To: y@example.com"))
    _caught(folder, 2)
    client = dev_app.test_client()
    listing = client.get("/dev/mailbox").get_data(as_text=True)
    message_path = _first_message_path(listing)
    token = csrf_token(client.get(message_path).get_data(as_text=True))
    assert client.post(f"{message_path}/delete").status_code == 400  # no form token
    response = client.post(f"{message_path}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert len(list(folder.glob("*.eml"))) == 1
    assert client.get(message_path).status_code == 404
    assert client.post(f"{message_path}/delete", data={"csrf_token": token}).status_code == 404


def _first_message_path(listing: str) -> str:
    start = listing.index('href="/dev/mailbox/') + len('href="')
    return listing[start : listing.index('"', start)]


def _confirmation_link(page: str) -> str:
    start = page.index('href="http://127.0.0.1:5000/confirm/') + len('href="')
    return page[start : page.index('"', start)]
