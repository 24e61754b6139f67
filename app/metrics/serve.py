"""`flask metrics serve`: /metrics for `flask mail worker` processes, which serve no HTTP.

Workers started with PROMETHEUS_MULTIPROC_DIR count into files there; this process sums
them (and reads the database's gauges) on each scrape, behind the same METRICS_TOKEN. It is
a plain WSGI function, not the app: a request through the app would start senders here.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.serving import make_server

from app.metrics.views import MULTIPROCESS, scrape_registry, token_matches

metrics_cli = AppGroup("metrics", help="Prometheus metrics for processes without a web server.")


def metrics_wsgi(app: Flask):
    token = app.config.get("METRICS_TOKEN") or ""

    def application(environ, start_response):
        if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") != "GET":
            return _answer(start_response, "404 Not Found", b"Not found.\n")
        if not token_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            extra = [("WWW-Authenticate", 'Bearer realm="metrics"')]
            refusal = b"A bearer token is needed.\n"
            return _answer(start_response, "401 Unauthorized", refusal, extra)
        with app.app_context():
            body = generate_latest(scrape_registry())
        return _answer(start_response, "200 OK", body, [("Content-Type", CONTENT_TYPE_LATEST)])

    return application


def _answer(start_response, status: str, body: bytes, headers=None):
    headers = headers or [("Content-Type", "text/plain; charset=utf-8")]
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]


@metrics_cli.command("serve")
@click.option("--bind", default="127.0.0.1:9101", show_default=True, help="HOST:PORT")
def serve(bind: str) -> None:
    """Serve /metrics for this host's mail workers (same PROMETHEUS_MULTIPROC_DIR)."""
    app = current_app._get_current_object()
    if not MULTIPROCESS:
        raise click.UsageError(
            "set PROMETHEUS_MULTIPROC_DIR (the directory the workers count into) first"
        )
    if not app.config.get("METRICS_TOKEN"):
        raise click.UsageError("set METRICS_TOKEN: /metrics is never served without one")
    host, _, port = bind.rpartition(":")
    server = make_server(host or "127.0.0.1", int(port), metrics_wsgi(app), threaded=True)
    click.echo(f"metrics on http://{bind}/metrics")
    server.serve_forever()
