"""Helpers for the webhook tests: keys the tests make, posts signed the way each provider
signs them, and a loopback HTTP server standing in for SNS (its signing certificate and
the SubscribeURL a confirmation visits)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from app.extensions import db
from app.mail import suppression
from app.webhooks import sns

TOPIC = "arn:aws:sns:eu-west-1:123456789012:mailroom-ses"
MAILGUN_KEY = "key-mailgun-signing-for-tests"
POSTMARK_USER, POSTMARK_PASSWORD = "postmark", "a-long-password-for-postmark-hooks"
POSTMARK_TOKEN = "postmark-token-long-enough-for-production"  # noqa: S105 - a test value


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SnsStandIn:
    """An HTTP server on 127.0.0.1 serving the test signing certificate at /cert.pem and
    counting visits to /confirm (a SubscribeURL). `.sign(message)` signs as SNS does."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
        self.cert_pem = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now_utc() - timedelta(days=1))
            .not_valid_after(now_utc() + timedelta(days=30))
            .sign(self.key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
        )
        self.confirmations: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.cert_url = f"http://{self.host}/cert.pem"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                if self.path == "/cert.pem":
                    body = stand_in.cert_pem
                elif self.path.startswith("/confirm"):
                    stand_in.confirmations.append(self.path)
                    body = b"<ConfirmSubscriptionResponse/>"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def sign(self, message: dict, version: str = "2", key=None) -> dict:
        signed = {**message, "SignatureVersion": version, "SigningCertURL": self.cert_url}
        # SNS SignatureVersion 1 is SHA1: checked because topics still use it by default.
        digest = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303
        signature = (key or self.key).sign(sns.string_to_sign(signed), padding.PKCS1v15(), digest)
        signed["Signature"] = base64.b64encode(signature).decode()
        return signed

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
        sns._cache.clear()  # the next test's stand-in has another key at another port


def ses_notification(kind: str, address: str, message_id: str | None = None, **extra) -> dict:
    """An SES bounce or complaint notification (the JSON inside the SNS message)."""
    mail = {"messageId": "0100018c-ses-id", "commonHeaders": {"messageId": message_id}}
    if kind == "Bounce":
        body = {
            "bounceType": extra.get("bounce_type", "Permanent"),
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address}],
        }
        return {"notificationType": "Bounce", "bounce": body, "mail": mail}
    body = {"complainedRecipients": [{"emailAddress": address}], "complaintFeedbackType": "abuse"}
    return {"notificationType": "Complaint", "complaint": body, "mail": mail}


def sns_envelope(notification: dict | None = None, *, kind="Notification", at=None, **fields):
    message = {
        "Type": kind,
        "MessageId": secrets.token_hex(16),
        "TopicArn": TOPIC,
        "Message": json.dumps(notification or {}),
        "Timestamp": iso(at or now_utc()),
        **fields,
    }
    if kind == "Notification":
        message["Subject"] = "Amazon SES Email Event Notification"
    return message


class SendGridSigner:
    """An ECDSA P-256 key pair; `.public_key` is what SendGrid's settings page shows."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()

    def headers(self, body: bytes, at: datetime | None = None, key=None) -> dict:
        timestamp = str(int((at or now_utc()).timestamp()))
        signature = (key or self.key).sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }


def mailgun_post(event: dict, *, at=None, key: str = MAILGUN_KEY, token=None) -> dict:
    timestamp = str(int((at or now_utc()).timestamp()))
    token = token or secrets.token_hex(25)
    digest = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": digest},
        "event-data": event,
    }


def basic_auth(user: str, password: str) -> dict:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def suppression_of(app, address: str):
    """(active, kind, source, soft_bounces) of the address's entry, or None."""
    with app.app_context():
        row = db.session.scalar(
            select(suppression.Suppression).where(suppression.Suppression.address == address)
        )
        return None if row is None else (row.active, row.kind, row.source, row.soft_bounces)


def history_of(app, address: str) -> list[tuple]:
    with app.app_context():
        return [(e.kind, e.source, e.outbox_id) for e in suppression.history(address)]
