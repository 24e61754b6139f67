"""The development mail catcher: an SMTP server on loopback that delivers nowhere.

Every message it accepts is kept as one .eml file in the dev mailbox folder
(instance/dev-mailbox/), where /dev/mailbox reads it; the real outbox still
records the message as sent. It exists for APP_ENV=development only.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path

from aiosmtpd.controller import Controller
from flask import Flask

from app.mail.events import mask

log = logging.getLogger("mailroom.catcher")
# Names sort by arrival: nanoseconds since the epoch, then a random tail against ties.
SUFFIX = ".eml"


def mailbox_folder(app: Flask) -> Path:
    """Where caught mail is kept (DEV_MAILBOX_DIR, default instance/dev-mailbox)."""
    return Path(app.config.get("DEV_MAILBOX_DIR") or Path(app.instance_path) / "dev-mailbox")


def keep(folder: Path, data: bytes) -> Path:
    """Write one message atomically: the mailbox never shows half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    partial = folder / f".{name}.part"
    partial.write_bytes(data)
    final = folder / f"{name}{SUFFIX}"
    os.replace(partial, final)
    return final


class MailboxHandler:
    """aiosmtpd handler: accept everything, keep it in the folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope) -> str:
        path = keep(self.folder, envelope.original_content)
        headers = BytesHeaderParser(policy=default_policy).parsebytes(envelope.original_content)
        recipients = ", ".join(mask(r) for r in envelope.rcpt_tos)
        log.info("dev catcher: caught %r to %s (%s)", headers["Subject"], recipients, path.name)
        return "250 2.0.0 Ok: caught by the Mailroom dev catcher"


class Catcher:
    """The catcher on host:port; `start()` returns once it listens, `stop()` ends it."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 1025):
        self.folder, self.host, self.port = folder, host, port
        self.controller = Controller(
            MailboxHandler(folder),
            hostname=host,
            port=port,
            # A fixed name: aiosmtpd would otherwise look up the FQDN on every session.
            server_hostname="catcher.mailroom.localhost",
            enable_SMTPUTF8=True,
        )

    def start(self) -> Catcher:
        # aiosmtpd logs every connection at INFO; one line per caught message is enough.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def is_listening(host: str, port: int, timeout: float = 0.2) -> bool:
    """Is something accepting connections there (our catcher, most likely)?"""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
