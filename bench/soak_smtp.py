"""The fault soak's SMTP server: a raw asyncio listener, in a process of its own, that answers
some commands late, gives random 421s and drops connections, and writes a journal line per
event (connection, fault, accepted message with its Message-ID, client port and time).

`SoakSmtp(journal, faults)` starts it (`python bench/soak_smtp.py`) on a free 127.0.0.1
port; `.stop()` ends it; `read_journal(path)` gives the events back. A message counts as
delivered when the server has written its 250 to the end of the data, and only then.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from email.parser import BytesHeaderParser
from pathlib import Path

HOSTNAME = "mx.soak.local"
EHLO_REPLY = f"250-{HOSTNAME}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 HELP"
IDLE_SECONDS = 300  # a client that says nothing for this long is gone


@dataclass(frozen=True)
class Faults:
    """How often each fault strikes, per reply (chances between 0 and 1)."""

    slow_seconds: float = 0.9
    # A new connection answers every command late until its first message is in: a send over
    # a fresh connection then takes five late replies (greeting, EHLO, MAIL, RCPT, DATA),
    # longer than a lease of 4 x MAIL_TIMEOUT although no single reply times out.
    slow_connection: float = 0.25
    slow_reply: float = 0.03
    reply_421: float = 0.01
    drop: float = 0.01
    seed: int | None = None


class _Session:
    """One client connection: its faults and the journal lines it writes."""

    def __init__(self, reader, writer, faults: Faults, rng: random.Random, journal):
        self.reader, self.writer = reader, writer
        self.faults, self.rng, self.journal = faults, rng, journal
        self.port = writer.get_extra_info("peername")[1]
        self.slow = rng.random() < faults.slow_connection

    def note(self, event: str, **fields) -> None:
        line = {"event": event, "port": self.port, "at": time.time(), **fields}
        self.journal.write(json.dumps(line) + "\n")

    async def reply(self, text: str, step: str, may_be_slow: bool = True) -> bool:
        """Answer `step`, or fail it as the dice say; False when the connection is gone."""
        roll = self.rng.random()
        if roll < self.faults.drop:
            self.note("drop", step=step)
            self.writer.close()
            return False
        if roll < self.faults.drop + self.faults.reply_421:
            self.note("421", step=step)
            self.writer.write(b"421 4.3.2 soak: service not available, closing channel\r\n")
            self.writer.close()
            return False
        if may_be_slow and (self.slow or self.rng.random() < self.faults.slow_reply):
            self.note("slow", step=step)
            await asyncio.sleep(self.faults.slow_seconds)
        self.writer.write(text.encode() + b"\r\n")
        await self.writer.drain()
        return True

    async def run(self) -> None:
        self.note("open", slow=self.slow)
        try:
            if await self.reply(f"220 {HOSTNAME} ESMTP soak", "greeting"):
                await self._commands()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            self.note("close")
            self.writer.close()

    async def _commands(self) -> None:
        recipients = 0
        while True:
            line = await asyncio.wait_for(self.reader.readline(), IDLE_SECONDS)
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"QUIT":
                self.writer.write(b"221 2.0.0 bye\r\n")
                return
            if verb == b"DATA" and recipients:
                recipients = 0
                if not await self._data():
                    return
                continue
            text, recipients = self._answer(verb, recipients)
            if not await self.reply(text, verb.decode("ascii", "replace")):
                return

    @staticmethod
    def _answer(verb: bytes, recipients: int) -> tuple[str, int]:
        if verb == b"EHLO":
            return EHLO_REPLY, 0
        if verb in (b"HELO", b"RSET", b"MAIL"):
            return "250 2.0.0 ok", 0
        if verb == b"RCPT":
            return "250 2.1.5 ok", recipients + 1
        if verb == b"NOOP":
            return "250 2.0.0 ok", recipients
        if verb == b"DATA":
            return "503 5.5.1 need RCPT first", recipients
        return "502 5.5.2 command not implemented", recipients

    async def _data(self) -> bool:
        if not await self.reply("354 end data with <CR><LF>.<CR><LF>", "DATA"):
            return False
        lines = []
        while True:
            line = await asyncio.wait_for(self.reader.readline(), IDLE_SECONDS)
            if not line:
                return False
            if line in (b".\r\n", b".\n"):
                break
            lines.append(line[1:] if line.startswith(b".") else line)
        dot_at = time.time()
        # The reply to the end of the data is never late: a client that times out there
        # cannot know whether the message was taken (RFC 1047), and no sender can fix that.
        if not await self.reply("250 2.0.0 ok: queued", "end of data", may_be_slow=False):
            return False
        headers = BytesHeaderParser().parsebytes(b"".join(lines))
        self.note("delivered", message_id=headers["Message-ID"], dot_at=dot_at)
        self.slow = False  # a slow connection is slow until its first message is in
        return True


async def _serve(port_file: Path, journal_path: Path, faults: Faults) -> None:
    rng = random.Random(faults.seed)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    sessions: set[asyncio.Task] = set()
    with open(journal_path, "a", buffering=1) as journal:

        async def handle(reader, writer):
            task = asyncio.current_task()
            sessions.add(task)
            try:
                await _Session(reader, writer, faults, rng, journal).run()
            finally:
                sessions.discard(task)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        # Written whole, then renamed: the parent never reads half a number.
        partial = port_file.with_suffix(".partial")
        partial.write_text(str(server.sockets[0].getsockname()[1]))
        partial.replace(port_file)
        parent = os.getppid()
        # Stop when told, or when the soak that started this server is gone.
        while os.getppid() == parent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), 1.0)
            if stopping.is_set():
                break
        server.close()
        for task in list(sessions):
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)


class SoakSmtp:
    """The server process: started on construction, listening when it returns."""

    def __init__(self, journal: Path, faults: Faults, timeout: float = 30.0):
        self.journal = journal
        port_file = journal.with_suffix(".port")
        port_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--journal", str(journal), "--port-file", str(port_file)],
            env={**os.environ, "SOAK_FAULTS": json.dumps(asdict(faults))},
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the soak SMTP server did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def read_journal(path: Path) -> list[dict]:
    """Every event the server wrote, in order; a line cut short by a stop is skipped."""
    events = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            events.append(json.loads(line))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--port-file", type=Path, required=True)
    args = parser.parse_args()
    faults = Faults(**json.loads(os.environ.get("SOAK_FAULTS", "{}")))
    asyncio.run(_serve(args.port_file, args.journal, faults))


if __name__ == "__main__":
    main()
