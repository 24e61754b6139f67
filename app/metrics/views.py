"""GET /metrics: Prometheus' text format for holders of METRICS_TOKEN, compared in constant
time. Without the setting the route answers 404: there is nothing public to see here."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

from app.extensions import limiter
from app.metrics.gauges import PipelineCollector

bp = Blueprint("metrics", __name__)
# Decided once, when prometheus_client was imported (PROMETHEUS_MULTIPROC_DIR set then):
# the counters live in files only in that case.
MULTIPROCESS = values.ValueClass is not values.MutexValue


@bp.get("/metrics")
@limiter.exempt
def metrics():
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    if not bearer_matches(token):
        response = Response("A bearer token is needed.\n", 401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = generate_latest(scrape_registry())
    headers = {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    return Response(body, headers=headers)


def bearer_matches(token: str) -> bool:
    return token_matches(request.headers.get("Authorization", ""), token)


def token_matches(authorization: str, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time: how much of a guess
    matched must not show in the answer's timing."""
    scheme, _, offered = authorization.partition(" ")
    same = hmac.compare_digest(offered.strip().encode(), token.encode())
    return bool(token) and scheme.lower() == "bearer" and same


def scrape_registry() -> CollectorRegistry:
    """This scrape's collectors: every process's counters (multiprocess mode) or this one's,
    and the database's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS:
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(PipelineCollector())
    return registry


class _ThisProcess:
    """The default registry's metrics (this process's counters, its own process stats)."""

    def collect(self):
        return REGISTRY.collect()
