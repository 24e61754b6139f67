"""Gauges read from the database at scrape time: the outbox by status, the oldest waiting
message, senders alive, transport failing, suppressed addresses.

The same bounded reads as /healthz and the admin pages (app.admin.figures): a few index
lookups each, whatever the size of the outbox. Every process reads the same rows, so these
are not summed across workers. A database that does not answer gives
mailroom_database_up 0 and nothing else, not a failed scrape.
"""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from app.admin.figures import COUNT_CAP, outbox_figures
from app.extensions import db
from app.mail import suppression


class PipelineCollector(Collector):
    def collect(self):
        try:
            figures = outbox_figures(counts=True)
            suppressed = suppression.active_count(COUNT_CAP)
        except SQLAlchemyError:
            db.session.rollback()
            yield _gauge("mailroom_database_up", "Whether the database answered.", 0)
            return
        yield _gauge("mailroom_database_up", "Whether the database answered.", 1)
        by_status = GaugeMetricFamily(
            "mailroom_outbox_messages",
            f"Outbox messages by status, counted up to {COUNT_CAP} each.",
            labels=["status"],
        )
        for status, count in figures.counts.items():
            by_status.add_metric([status], count)
        yield by_status
        yield _gauge("mailroom_outbox_count_cap", "Where outbox counts stop.", COUNT_CAP)
        yield _gauge(
            "mailroom_outbox_oldest_queued_age_seconds",
            "Age of the oldest message still queued or sending (0 when none waits).",
            figures.oldest_waiting_age_s or 0,
        )
        alive = sum(1 for sender in figures.senders if sender["alive"])
        yield _gauge("mailroom_senders_alive", "Sender threads with a recent heartbeat.", alive)
        yield _gauge("mailroom_senders", "Sender threads registered.", len(figures.senders))
        failing = sum(1 for s in figures.senders if s["alive"] and s["backoff_until"])
        yield _gauge(
            "mailroom_transport_failing_senders",
            "Live senders backing off after an SMTP transport failure.",
            failing,
        )
        yield _gauge(
            "mailroom_suppressed_addresses",
            f"Addresses on the suppression list, counted up to {COUNT_CAP}.",
            suppressed,
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
