"""The mail console and the dev mailbox in German: an admin whose browser asks for German reads
every page, button, form error and flash message in German, while stored statuses, `?status=`
values and log lines stay English."""

from __future__ import annotations

import logging
import re
import smtplib
from email.message import EmailMessage

import pytest
from flask import render_template_string
from sqlalchemy import update

from app.extensions import db
from app.mail import hints, suppression
from app.mail.catcher import Catcher
from app.mail.diagnostics import diagnose
from app.mail.models import FAILED, OutboxMessage
from app.mail.transport import SmtpSettings
from tests.admin_helpers import admin_client
from tests.conftest import base_config, csrf_token, wait_for
from tests.outbox_helpers import queue
from tests.smtp_server import free_port

GERMAN = {"Accept-Language": "de"}
GONE = "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown (at RCPT TO)"


def german(client, path: str) -> str:
    response = client.get(path, headers=GERMAN)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def post_german(client, path: str, page: str, data: dict | None = None) -> str:
    """POST like a German browser (the CSRF token from `page`), then follow the redirect."""
    token = csrf_token(german(client, page))
    response = client.post(
        path, data={"csrf_token": token, **(data or {})}, headers=GERMAN, follow_redirects=True
    )
    return response.get_data(as_text=True)


def _fail(app, row_id: int) -> None:
    with app.app_context():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(status=FAILED, last_error=GONE)
        )
        db.session.commit()


def test_the_mail_console_reads_german(app):
    client = admin_client(app)
    [queued, failed] = queue(app, "ada@example.com", "gone@example.com")
    _fail(app, failed)

    settings = german(client, "/admin/mail")
    for words in (
        "Mail-Einstellungen",
        "Wirksame Einstellungen",
        "Test-E-Mail senden",
        "Verbindung prüfen",
        "Postausgang",
        "Gesperrt",
        "Vorschauen",
        "Passwort (MAIL_PASSWORD)",
        "keine: Post und jedes Passwort gehen unverschlüsselt",
        ">wartend</span>",
        ">fehlgeschlagen</span>",
    ):
        assert words in settings
    assert "Effective settings" not in settings

    outbox = german(client, "/admin/mail/outbox")
    assert "Neueste zuerst. Insgesamt: wartend 1, fehlgeschlagen 1." in outbox
    assert ">Jeder Status</option>" in outbox and ">fehlgeschlagen</option>" in outbox

    message = german(client, f"/admin/mail/outbox/{failed}")
    assert f"Nachricht #{failed}:" in message
    assert "fehlgeschlagen: 550 5.1.1" in message  # the server's words stay as they came
    assert "Was zu tun ist:" in message and "Der Server hat den Empfänger abgelehnt." in message
    assert "Nachricht erneut senden" in message and "Zustellversuche" in message

    waiting = german(client, f"/admin/mail/outbox/{queued}")
    assert "wartend, aber kein Sender läuft" in waiting
    assert "Diese Seite lädt sich alle 1 s neu" in waiting

    retried = post_german(
        client, f"/admin/mail/outbox/{failed}/retry", f"/admin/mail/outbox/{failed}"
    )
    assert f"Nachricht #{failed} wartet wieder auf den Versand." in retried


def test_the_status_filter_takes_english_values_on_a_german_page(app):
    client = admin_client(app)
    [queued, failed] = queue(app, "ada@example.com", "gone@example.com")
    _fail(app, failed)

    only_failed = german(client, "/admin/mail/outbox?status=failed")
    assert f'href="/admin/mail/outbox/{failed}"' in only_failed
    assert f'href="/admin/mail/outbox/{queued}"' not in only_failed
    assert '<option selected value="failed">fehlgeschlagen</option>' in only_failed

    assert "Keine Nachricht passt zu diesen Filtern." in german(
        client, "/admin/mail/outbox?status=sent"
    )
    # The settings page's counts link to the English value, whatever the page's language.
    assert 'href="/admin/mail/outbox?status=queued"' in german(client, "/admin/mail")
    # Without a German browser the console is English, as before.
    english = client.get("/admin/mail").get_data(as_text=True)
    assert "Effective settings" in english and ">queued</span>" in english
    # A German word is no status: the filter refuses it, as it refuses any unknown one.
    assert client.get("/admin/mail/outbox?status=fehlgeschlagen", headers=GERMAN).status_code == 400


def test_previews_and_suppressions_read_german(app):
    client = admin_client(app)
    previews = german(client, "/admin/mail/previews")
    assert "E-Mail-Vorschauen" in previews
    assert re.search(r"\b\d{1,3}\.\d{3} Bytes", previews)  # sizes grouped as German writes them
    preview = german(client, "/admin/mail/previews/test_email")
    assert (
        "Alle Vorschauen" in preview and "Beispieldaten" in preview and "MIME-Quelltext" in preview
    )

    with app.app_context():
        suppression.add("spam@example.com", suppression.COMPLAINT, "ses", "reported")
        db.session.commit()
        entry = db.session.scalars(db.select(suppression.Suppression.id)).one()
    listing = german(client, "/admin/mail/suppressions")
    assert "Gesperrte Adressen" in listing and "Spam-Beschwerde" in listing
    assert "Gemeldet von" in listing
    page = german(client, f"/admin/mail/suppressions/{entry}")
    assert "Gesperrt seit" in page and "Sperre aufheben: wieder an diese Adresse senden" in page
    lifted = post_german(
        client, f"/admin/mail/suppressions/{entry}/lift", f"/admin/mail/suppressions/{entry}"
    )
    assert "spam@example.com erhält wieder Post." in lifted
    assert "Nicht gesperrt: Post an diese Adresse wird gesendet." in lifted
    # The stored reason stays English: it is what the outbox and the logs say.
    assert suppression.LABELS[suppression.COMPLAINT] == "spam complaint"


def test_the_connection_check_reads_german(app):
    client = admin_client(app)
    page = post_german(client, "/admin/mail/check", "/admin/mail", {"rcpt": "ada@example.com"})
    assert "Verbindungsprüfung: 127.0.0.1:" in page
    assert "Jeder Schritt bestanden" in page
    assert "127.0.0.1 auflösen" in page and "Begrüßung des Servers" in page
    assert "Sicherheit: keine." in page
    assert ">übersprungen</span>" in page
    assert "Nicht versucht: MAIL_USERNAME und MAIL_PASSWORD sind nicht gesetzt." in page
    assert "Erneut prüfen" in page
    # A form error on the same console, in German too.
    page = post_german(client, "/admin/mail/test", "/admin/mail", {"to": ""})
    assert "Geben Sie die Adresse ein, an die die Test-E-Mail gehen soll." in page


def test_a_failed_check_hints_in_german_and_logs_in_english(app, caplog):
    port = free_port()
    with app.test_request_context(headers=GERMAN), caplog.at_level(logging.INFO):
        diagnosis = diagnose(base_config("sqlite://", MAIL_PORT=port))
    failed = diagnosis.failed_step
    assert failed.key == "connect" and failed.title == f"Mit Port {port} verbinden"
    assert failed.hint.startswith(f"Auf 127.0.0.1:{port} lauscht nichts")
    assert failed.reply == "connection refused"  # shown as the server's words, untranslated
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("mailroom"))
    assert "failed at connect: connection refused" in logged and "verbinden" not in logged


AGES = [
    # macro, seconds, English, German
    ("ago", 0.3, "just now", "gerade eben"),
    ("ago", 125, "2 min 5 s ago", "vor 2 min 5 s"),
    ("ago", 3 * 86400, "3 days ago", "vor 3 Tagen"),
    ("ago", None, "never", "nie"),
    ("age", 3 * 86400, "3 days", "3 Tage"),
    ("age", 86400 * 2 - 1, "47 h 59 min", "47 h 59 min"),
]


def test_ages_are_whole_phrases_in_each_language(app):
    for macro, seconds, english, german_words in AGES:
        template = f'{{% from "admin/_macros.html" import {macro} %}}{{{{ {macro}(seconds) }}}}'
        with app.test_request_context():
            assert render_template_string(template, seconds=seconds) == english
        with app.test_request_context(headers=GERMAN):
            assert render_template_string(template, seconds=seconds) == german_words


@pytest.fixture
def dev_app(make_app, tmp_path):
    folder = tmp_path / "dev-mailbox"
    catcher = Catcher(folder, "127.0.0.1", free_port()).start()
    app = make_app(
        APP_ENV="development",
        TESTING=True,
        APP_BASE_URL="http://127.0.0.1:5000",
        MAIL_PORT=catcher.port,
        DEV_MAILBOX_DIR=str(folder),
    )
    yield app, catcher, folder
    catcher.stop()


def test_the_dev_mailbox_reads_german(dev_app):
    app, catcher, folder = dev_app
    client = app.test_client()
    empty = german(client, "/dev/mailbox")
    assert "Dev-Postfach" in empty and "Noch keine Post." in empty

    for n in (1, 2):
        mail = EmailMessage()
        mail["From"], mail["To"] = "app@example.com", "ada@example.com"
        mail.set_content(f"Hello {n}")
        with smtplib.SMTP(catcher.host, catcher.port, timeout=5) as smtp:
            smtp.send_message(mail)
    wait_for(lambda: len(list(folder.glob("*.eml"))) == 2)

    listing = german(client, "/dev/mailbox")
    assert "an ada@example.com" in listing and "Alle abgefangenen E-Mails löschen" in listing
    path = listing.split('class="mailbox-item" href="')[1].split('"')[0]
    message = german(client, path)
    assert "(kein Betreff)" in message and "Alle Kopfzeilen" in message
    assert "Diese Nachricht löschen" in message and "Rohquelltext (" in message

    deleted = post_german(client, f"{path}/delete", path)
    assert "Die Nachricht ist gelöscht." in deleted
    cleared = post_german(client, "/dev/mailbox/clear", "/dev/mailbox")
    assert "1 abgefangene Nachricht gelöscht." in cleared


def test_tls_details_and_provider_hints_read_german(app, make_smtp, certs):
    server = make_smtp(tls="starttls", cert=certs.trusted)
    config = base_config(
        "sqlite://", MAIL_PORT=server.port, MAIL_USE_TLS=True, MAIL_CA_FILE=certs.ca_path
    )
    with app.test_request_context(headers=GERMAN):
        diagnosis = diagnose(config)
        disabled = hints.for_delivery_error(
            "auth",
            "authentication refused: 535 5.7.139 Authentication unsuccessful, "
            "SmtpClientAuthentication is disabled for the Tenant.",
            SmtpSettings.from_config(config),
        )
    assert diagnosis.ok
    tls = next(step for step in diagnosis.steps if step.key == "tls")
    assert tls.title == "STARTTLS und TLS-Handshake"
    details = "\n".join(tls.details)
    assert "Zertifikat für 127.0.0.1 geprüft gegen MAIL_CA_FILE" in details
    assert "Aussteller: O=trustme" in details and "Läuft ab: Jan  1 00:00:00 3000 GMT" in details
    assert disabled.startswith("SMTP AUTH ist für diesen Mandanten oder dieses Postfach")
