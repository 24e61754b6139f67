"""Prometheus metrics at /metrics: counters fed by the mail events (app.mail.events), gauges
read from the database at scrape time, for holders of METRICS_TOKEN only.

Nothing in the pipeline imports this package: it listens. Under gunicorn the counters of
every worker are summed through prometheus_client's multiprocess mode (gunicorn.conf.py
sets PROMETHEUS_MULTIPROC_DIR before anything imports prometheus_client).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.metrics import counters, serve, views

    counters.listen()
    app.register_blueprint(views.bp)
    app.cli.add_command(serve.metrics_cli)
