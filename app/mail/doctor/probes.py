"""Second looks at a port that failed a handshake: does it greet in clear, or speak TLS at once?
They tell "set MAIL_USE_SSL" from "set MAIL_USE_TLS" when a check fails at TLS or greeting."""

from __future__ import annotations

import socket
import ssl

from app.mail.transport import SmtpSettings

# The second look waits less than a step may: a live server answers either in well under a
# second, and a person is waiting.
PROBE_TIMEOUT = 5.0


def greets_in_clear(s: SmtpSettings) -> bool:
    """Does the port greet in plain text (a STARTTLS or plain port)? A fresh look."""
    try:
        with socket.create_connection((s.server, s.port), timeout=_timeout(s)) as sock:
            return sock.recv(64).startswith(b"220")
    except OSError:
        return False


def speaks_tls(s: SmtpSettings) -> bool:
    """Does the port complete a TLS handshake straight away (implicit TLS)?"""
    # Unverified on purpose: this only asks whether the port speaks TLS; nothing is sent.
    probe = ssl.create_default_context()
    probe.check_hostname, probe.verify_mode = False, ssl.CERT_NONE
    try:
        sock = socket.create_connection((s.server, s.port), timeout=_timeout(s))
        with sock, probe.wrap_socket(sock, server_hostname=s.server):
            return True
    except OSError:
        return False


def _timeout(s: SmtpSettings) -> float:
    return min(s.timeout, PROBE_TIMEOUT)
