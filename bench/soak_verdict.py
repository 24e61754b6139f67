"""The fault soak's verdict: from the SMTP server's journal, the kills and the outbox, which
messages arrived, which arrived more than once, and whether a kill explains each repeat.

A repeat is explained when every delivery of the message but the last was on a connection of
a process the soak SIGKILLed, within a few seconds before that kill, and the next delivery came
after the kill: the send was done, the process died before it recorded it, and another sender
rightly sent it again. The outbox's attempt log must agree: such a message has fewer recorded
sends than deliveries (every delivery recorded means no kill lost one).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from soak_outbox import OutboxState

# A sent-mark commits within milliseconds of the server's 250; a mark still unwritten this
# long after it was not lost to the kill.
BEFORE_KILL = 5.0
# The server writes its 250 and notes the time while the client may already be dead.
AFTER_KILL = 1.0


@dataclass(frozen=True)
class Kill:
    at: float
    pid: int
    role: str
    ports: frozenset[int]  # the killed process's connections to the SMTP server


@dataclass
class Owners:
    """Which process held which client port when (sampled from /proc), to name senders."""

    seen: dict[int, list[list]] = field(default_factory=lambda: defaultdict(list))

    def note(self, port: int, pid: int, role: str, at: float) -> None:
        spans = self.seen[port]
        if spans and spans[-1][0] == pid:
            spans[-1][3] = at
        else:
            spans.append([pid, role, at, at])

    def owner(self, port: int, at: float, slack: float = 1.0) -> str:
        for pid, role, first, last in self.seen.get(port, ()):
            if first - slack <= at <= last + slack:
                return f"{role} {pid}"
        return "?"


@dataclass
class Delivery:
    message_id: str
    port: int
    at: float
    reply_delay: float
    cause: Kill | None = None


@dataclass
class Verdict:
    expected: int
    statuses: dict[str, int]
    delivered: dict[str, list[Delivery]]
    missing: list[str]
    strangers: list[str]
    faults: Counter
    kills: list[Kill]

    @property
    def duplicates(self) -> dict[str, list[Delivery]]:
        return {m: d for m, d in self.delivered.items() if len(d) > 1}

    @property
    def extra_deliveries(self) -> int:
        return sum(len(d) - 1 for d in self.duplicates.values())

    recorded: dict[str, int] = field(default_factory=dict)  # sends in the attempt log
    attempts: dict[int, int] = field(default_factory=dict)  # messages by attempts spent

    def explained(self, deliveries: list[Delivery]) -> bool:
        lost = len(deliveries) - self.recorded.get(deliveries[0].message_id, 0)
        killed = all(d.cause is not None for d in deliveries[:-1])
        return killed and lost >= len(deliveries) - 1

    @property
    def unexplained(self) -> dict[str, list[Delivery]]:
        return {m: d for m, d in self.duplicates.items() if not self.explained(d)}

    @property
    def passed(self) -> bool:
        return not self.missing and not self.unexplained and not self.strangers

    def summary(self) -> dict:
        return {
            "messages": self.expected,
            "delivered_unique": len(self.delivered) - len(self.strangers),
            "missing": len(self.missing),
            "duplicates": len(self.duplicates),
            "extra_deliveries": self.extra_deliveries,
            "explained_by_kill": len(self.duplicates) - len(self.unexplained),
            "unexplained": len(self.unexplained),
            "kills": len(self.kills),
            "statuses": self.statuses,
            "attempts": self.attempts,
            "faults": dict(self.faults),
            "passed": self.passed,
        }


def judge(journal: list[dict], kills: list[Kill], outbox: OutboxState) -> Verdict:
    """The SMTP server's journal, the kills and the outbox's final state, compared."""
    delivered: dict[str, list[Delivery]] = defaultdict(list)
    for event in journal:
        if event["event"] == "delivered":
            message_id = (event.get("message_id") or "").strip()
            delivered[message_id].append(
                Delivery(message_id, event["port"], event["at"], event["at"] - event["dot_at"])
            )
    for deliveries in delivered.values():
        deliveries.sort(key=lambda d: d.at)
        for delivery, again in zip(deliveries, deliveries[1:], strict=False):
            delivery.cause = _kill_in_flight(delivery, again, kills)
    faults = Counter(e["event"] for e in journal if e["event"] in ("slow", "421", "drop"))
    faults["connections"] = sum(1 for e in journal if e["event"] == "open")
    return Verdict(
        expected=len(outbox.status),
        statuses=outbox.statuses,
        delivered=dict(delivered),
        missing=sorted(set(outbox.status) - set(delivered)),
        strangers=sorted(set(delivered) - set(outbox.status)),
        faults=faults,
        kills=kills,
        recorded=outbox.recorded,
        attempts=outbox.attempts,
    )


def _kill_in_flight(delivery: Delivery, again: Delivery, kills: list[Kill]) -> Kill | None:
    """The kill that took `delivery`'s process before it could record the send, if any."""
    for kill in kills:
        if (
            delivery.port in kill.ports
            and kill.at - BEFORE_KILL <= delivery.at <= kill.at + AFTER_KILL
            and again.at > kill.at
        ):
            return kill
    return None


def report(verdict: Verdict, owners: Owners, started: float) -> None:
    """Print the counts, then every repeated Message-ID with its deliveries and their cause."""
    s = verdict.summary()
    roles = Counter(k.role for k in verdict.kills)
    connected = sum(1 for kill in verdict.kills if kill.ports)
    print(
        f"   kills: {s['kills']} ({', '.join(f'{r} {n}' for r, n in sorted(roles.items()))}); "
        f"{connected} of them with an SMTP connection open"
    )
    faults = verdict.faults
    print(
        f"   SMTP server: {faults['connections']} connections, {faults['slow']} late replies, "
        f"{faults['421']} 421s, {faults['drop']} dropped connections"
    )
    by_role = Counter(
        owners.owner(d.port, d.at).split(" ")[0] for ds in verdict.delivered.values() for d in ds
    )
    print("   deliveries by sender: " + ", ".join(f"{r} {n}" for r, n in sorted(by_role.items())))
    print("   outbox: " + ", ".join(f"{k} {v}" for k, v in sorted(s["statuses"].items()) if v))
    spent = ", ".join(
        f"{n} {'try' if n == 1 else 'tries'}: {c}" for n, c in sorted(s["attempts"].items())
    )
    print(f"   messages by attempts spent: {spent}")
    print(f"   delivered unique: {s['delivered_unique']} of {s['messages']}")
    print(f"   missing: {s['missing']}")
    if verdict.strangers:
        print(f"   delivered but never enqueued: {len(verdict.strangers)}")
    print(
        f"   duplicates: {s['duplicates']} Message-IDs ({s['extra_deliveries']} extra deliveries);"
        f" explained by a kill: {s['explained_by_kill']}; unexplained: {s['unexplained']}"
    )
    for message_id, deliveries in sorted(verdict.duplicates.items(), key=lambda i: i[1][0].at):
        tag = "explained" if verdict.explained(deliveries) else "UNEXPLAINED"
        recorded = verdict.recorded.get(message_id, 0)
        print(f"     {message_id} {tag} (sends recorded in the outbox: {recorded})")
        for d in deliveries:
            print("       " + _describe(d, owners, started))
    for message_id in verdict.missing[:20]:
        print(f"     missing {message_id}")
    print(f"   verdict: {'PASS' if verdict.passed else 'FAIL'}")


def _describe(d: Delivery, owners: Owners, started: float) -> str:
    """One delivery: when (seconds into the soak), on which connection, by which process."""
    line = f"t={d.at - started:7.2f}  port {d.port:<5}  by {owners.owner(d.port, d.at):<16}"
    if d.reply_delay > 0.5:  # the client may have timed out waiting for this 250
        line += f"  250 written {d.reply_delay:.2f} s after the data"
    if d.cause:
        kill = d.cause
        line += f"  in flight: {kill.role} {kill.pid} SIGKILLed at t={kill.at - started:.2f}"
    return line.rstrip()
