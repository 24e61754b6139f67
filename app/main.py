"""The home page and the health check."""

from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user

from app.extensions import limiter
from app.health import health_verdict

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    return render_template("home.html")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """200 when this instance can serve (503 when it cannot); JSON with the status and its
    reasons in fixed words. Load balancers poll this often: never rate limited, no login.
    Admins and HEALTH_TOKEN holders also get the figures behind the verdict."""
    detailed = may_see_details()
    verdict = health_verdict(detailed)
    response = jsonify(verdict.detailed() if detailed else verdict.public())
    response.status_code = verdict.http_status
    response.headers["Cache-Control"] = "no-store"
    return response


def may_see_details() -> bool:
    token = current_app.config.get("HEALTH_TOKEN")
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer":
        # Constant time: how much of a guess matched must not show in the answer's timing.
        return hmac.compare_digest(offered.strip().encode(), token.encode())
    return current_user.is_authenticated and current_user.is_admin
