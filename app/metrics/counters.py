"""Counters and the send-duration histogram, moved by mail events as they happen.

Each process counts its own; in multiprocess mode each writes its own file and a scrape
sums them (so a worker that died still counts in the totals, as a counter should).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from app.mail import events

ENQUEUED = Counter("mailroom_mail_enqueued_total", "Messages written to the outbox.", ["template"])
REQUEUED = Counter(
    "mailroom_mail_requeued_total", "Failed or expired messages queued again.", ["template"]
)
DELIVERIES = Counter(
    "mailroom_deliveries_total",
    "What became of each delivery attempt or message: sent, retried, failed, suppressed, expired.",
    ["outcome", "template"],
)
SMTP_REPLIES = Counter(
    "mailroom_smtp_replies_total",
    "Final SMTP replies to messages, by class (none: the connection dropped first).",
    ["class"],
)
SEND_SECONDS = Histogram(
    "mailroom_send_duration_seconds",
    "Seconds from taking a message in hand to its SMTP outcome.",
    ["outcome"],
    # A warm connection answers in about a millisecond; a new TLS connection, or a slow
    # server, in seconds; MAIL_TIMEOUT bounds each step at 30 s by default.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
BOUNCES = Counter(
    "mailroom_bounces_total",
    "Bounces and complaints heard: hard_bounce (RCPT), bounce, complaint, soft_bounce.",
    ["kind", "source"],
)
WEBHOOK_POSTS = Counter(
    "mailroom_webhook_posts_total",
    "Webhook posts by provider and verdict (accepted, unsigned, wrong, stale, replayed, "
    "malformed).",
    ["provider", "verdict"],
)
SMTP_CONNECTIONS = Counter(
    "mailroom_smtp_connections_total",
    "SMTP connections opened (connect, TLS, sign-in), by relay and outcome: each one after the "
    "first is a reconnect.",
    ["relay", "outcome"],
)
TOKEN_RENEWALS = Counter(
    "mailroom_oauth2_token_renewals_total",
    "XOAUTH2 access tokens asked of the provider's token endpoint, by outcome.",
    ["outcome"],
)
# The pipeline's event names, in the words of the metric.
OUTCOMES = {
    "sent": "sent",
    "retry": "retried",
    "failed": "failed",
    "expired": "expired",
    "suppressed": "suppressed",
}


def listen() -> None:
    events.subscribe(on_event)


def on_event(name: str, row, facts: dict) -> None:
    if name == "webhook":
        WEBHOOK_POSTS.labels(facts["provider"], facts["verdict"]).inc()
    elif name == "bounce":
        BOUNCES.labels(facts["kind"], facts["source"]).inc()
    elif name in ("queued", "suppressed"):
        ENQUEUED.labels(row.template).inc()
    elif name == "requeued":
        REQUEUED.labels(row.template).inc()
    elif name == "smtp_connect":
        SMTP_CONNECTIONS.labels(facts["relay"], facts["outcome"]).inc()
    elif name == "token_renewal":
        TOKEN_RENEWALS.labels(facts["outcome"]).inc()
    if name in OUTCOMES:
        _count_outcome(OUTCOMES[name], row.template, facts)


def _count_outcome(outcome: str, template: str, facts: dict) -> None:
    DELIVERIES.labels(outcome, template).inc()
    seconds = facts.get("seconds")
    if seconds is None:
        return  # no SMTP exchange (suppressed, expired, given up): no reply to count
    code = facts.get("code")
    SMTP_REPLIES.labels(f"{code // 100}xx" if code else "none").inc()
    SEND_SECONDS.labels(outcome).observe(seconds)
    if facts.get("hard_bounce"):
        BOUNCES.labels("hard_bounce", "smtp").inc()
