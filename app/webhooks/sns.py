"""Amazon SNS message signatures: the certificate fetched from where SNS says, if that is
Amazon's SNS host, and the message's signature checked against it.

SNS signs each message (SignatureVersion 1: SHA1, 2: SHA256) with a key whose certificate
sits at SigningCertURL. That URL is in the message, so it is only trusted on
https://sns.<region>.amazonaws.com: anyone can sign a message with a key of their own. In
tests only (APP_ENV=testing), WEBHOOK_SNS_TEST_CERT_HOSTS names loopback hosts allowed too.
"""

from __future__ import annotations

import base64
import re
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import current_app

from app import clock
from app.webhooks.verdicts import MALFORMED, UNSIGNED, WRONG, Refused

if TYPE_CHECKING:
    from cryptography import x509

# sns.us-east-1.amazonaws.com, and the China regions' sns.cn-north-1.amazonaws.com.cn.
SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
FETCH_TIMEOUT_S = 5
# A certificate is a few KB; anything much larger is not one.
MAX_CERTIFICATE_BYTES = 64 * 1024
# Certificates by URL: SNS signs with one key for months, so most posts fetch nothing.
CACHE_SIZE = 16
# SignatureVersion: the name of its hash in cryptography.hazmat.primitives.hashes.
HASHES = {"1": "SHA1", "2": "SHA256"}
# The fields each type of message signs, in this order (SNS's documented string to sign).
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
SIGNED_FIELDS["UnsubscribeConfirmation"] = SIGNED_FIELDS["SubscriptionConfirmation"]

_cache: dict[str, x509.Certificate] = {}
_cache_lock = threading.Lock()


def allowed_url(url: str) -> bool:
    """https on an SNS host; in tests, also http on a host:port listed for tests."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname and SNS_HOST.fullmatch(parts.hostname):
        return parts.port in (None, 443) and not parts.username
    config = current_app.config
    test_hosts = config.get("WEBHOOK_SNS_TEST_CERT_HOSTS") or ()
    return config["APP_ENV"] == "testing" and parts.netloc in test_hosts


def verify(message: dict) -> None:
    """Raise Refused unless `message` carries a valid SNS signature."""
    # Imported here, like x509 below: a process that receives no SNS post (a mail worker, say)
    # never loads them.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    kind = message.get("Type")
    if kind not in SIGNED_FIELDS:
        raise Refused(MALFORMED)
    version, signature = message.get("SignatureVersion"), message.get("Signature")
    cert_url = message.get("SigningCertURL")
    if not (isinstance(signature, str) and isinstance(cert_url, str) and signature):
        raise Refused(UNSIGNED)
    if version not in HASHES or not allowed_url(cert_url):
        raise Refused(WRONG)
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except ValueError:
        raise Refused(WRONG) from None
    public_key = certificate(cert_url).public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise Refused(WRONG)
    try:
        public_key.verify(
            raw_signature,
            string_to_sign(message),
            padding.PKCS1v15(),
            getattr(hashes, HASHES[version])(),
        )
    except InvalidSignature:
        raise Refused(WRONG) from None


def string_to_sign(message: dict) -> bytes:
    lines = []
    for name in SIGNED_FIELDS[message["Type"]]:
        value = message.get(name)
        if value is None and name == "Subject":
            continue  # the only optional one
        if not isinstance(value, str):
            raise Refused(MALFORMED)
        lines += [name, value]
    return ("\n".join(lines) + "\n").encode()


def certificate(url: str) -> x509.Certificate:
    with _cache_lock:
        cached = _cache.get(url)
    if cached is None:
        cached = _fetch(url)
        with _cache_lock:
            if len(_cache) >= CACHE_SIZE:
                _cache.clear()
            _cache[url] = cached
    now = clock.utcnow()
    if not cached.not_valid_before_utc.replace(tzinfo=None) <= now:
        raise Refused(WRONG)
    if now > cached.not_valid_after_utc.replace(tzinfo=None):
        raise Refused(WRONG)
    return cached


def _fetch(url: str) -> x509.Certificate:
    import requests  # here: only a process that receives SNS posts loads requests
    from cryptography import x509

    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT_S, allow_redirects=False)
        body = response.content[: MAX_CERTIFICATE_BYTES + 1]
    except requests.RequestException:
        raise Refused(WRONG) from None
    if response.status_code != 200 or len(body) > MAX_CERTIFICATE_BYTES:
        raise Refused(WRONG)
    try:
        return x509.load_pem_x509_certificate(body)
    except ValueError:
        raise Refused(WRONG) from None


def confirm_subscription(message: dict) -> None:
    """Answer a verified SubscriptionConfirmation by visiting its SubscribeURL (SNS's way)."""
    url = message.get("SubscribeURL")
    if not isinstance(url, str) or not allowed_url(url):
        raise Refused(WRONG)
    import requests

    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT_S, allow_redirects=False)
    except requests.RequestException:
        raise Refused(WRONG) from None
    if response.status_code != 200:
        raise Refused(WRONG)
