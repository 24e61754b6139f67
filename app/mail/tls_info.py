"""What the connection doctor says about a TLS session: version, cipher, certificate.

Also which hint fits a certificate that failed verification: untrusted, for
another name, or expired.
"""

from __future__ import annotations

import ssl
import time

from flask_babel import gettext as _
from flask_babel import ngettext

from app.mail import hints
from app.mail.transport import SmtpSettings

# OpenSSL's X509_V_ERR_* codes for the failures an admin can act on differently.
CERT_HAS_EXPIRED = 10
HOSTNAME_MISMATCH = 62
IP_ADDRESS_MISMATCH = 64
SHORT_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
}
# A certificate this close to its end is worth a warning on the page.
EXPIRY_WARNING_DAYS = 14


def describe_tls(sock: ssl.SSLSocket, settings: SmtpSettings) -> list[str]:
    """Detail lines for an established TLS session."""
    cipher = sock.cipher()
    name = cipher[0] if cipher else _("unknown")
    lines = [_("%(version)s, cipher %(cipher)s", version=sock.version(), cipher=name)]
    cert = sock.getpeercert()
    if not cert:
        # getpeercert() is empty when nothing was verified.
        lines.append(_("Certificate NOT verified (MAIL_TLS_VERIFY=false)"))
        return lines
    trusted_by = "MAIL_CA_FILE" if settings.ca_file else _("the system's trusted CAs")
    lines.append(
        _(
            "Certificate verified against %(trusted_by)s for %(server)s",
            trusted_by=trusted_by,
            server=settings.server,
        )
    )
    lines.append(_("Subject: %(name)s", name=_name(cert.get("subject", ()))))
    names = [value for _kind, value in cert.get("subjectAltName", ())]
    if names:
        lines.append(_("Names: %(names)s", names=", ".join(names)))
    lines.append(_("Issuer: %(name)s", name=_name(cert.get("issuer", ()))))
    if "notAfter" in cert:
        lines.append(_expiry(cert["notAfter"]))
    return lines


def certificate_hint(exc: ssl.SSLCertVerificationError) -> str:
    if exc.verify_code in (HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH):
        return hints.CERT_WRONG_NAME
    if exc.verify_code == CERT_HAS_EXPIRED:
        return hints.CERT_EXPIRED
    return hints.CERT_UNTRUSTED


def _name(rdns) -> str:
    parts = [f"{SHORT_NAMES.get(key, key)}={value}" for rdn in rdns for key, value in rdn]
    return ", ".join(parts) or _("(empty)")


def _expiry(not_after: str) -> str:
    expires = ssl.cert_time_to_seconds(not_after)
    days = int((expires - time.time()) // 86400)
    if days < EXPIRY_WARNING_DAYS:
        return ngettext(
            "Expires: %(when)s (in %(num)d day): renew it soon, or mail stops",
            "Expires: %(when)s (in %(num)d days): renew it soon, or mail stops",
            days,
            when=not_after,
        )
    return ngettext(
        "Expires: %(when)s (in %(num)d day)",
        "Expires: %(when)s (in %(num)d days)",
        days,
        when=not_after,
    )
