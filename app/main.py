"""The home page and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from app.extensions import limiter
from app.health import health_report

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    return render_template("home.html")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """200 when the database answers and mail is being sent, else 503; JSON either way.
    Load balancers poll this often: it is never rate limited and needs no login."""
    healthy, report = health_report()
    response = jsonify(report)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
