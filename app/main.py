"""The home page, a visitor's choice of language, and the health check."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from app import i18n
from app.auth import accounts
from app.auth.redirects import safe_next
from app.extensions import limiter
from app.health import health_verdict

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    return render_template("home.html")


class LanguageSwitchForm(FlaskForm):
    """The switch at the foot of the pages: one button per language."""

    language = SelectField(choices=[SelectChoice(code, code) for code in i18n.LANGUAGES])


@bp.post("/language")
def choose_language():
    """Pages speak the chosen language from the answer on: kept in a cookie for a visitor,
    and on the account of someone signed in (as the account page does)."""
    form = LanguageSwitchForm()
    if not form.validate():
        abort(400)  # no CSRF token, or a language not offered: nothing changes
    language = form.language.data
    if current_user.is_authenticated:
        accounts.choose_language(current_user._get_current_object(), language)
    response = redirect(_page_it_was_pressed_on() or url_for("main.home"))
    response.set_cookie(
        i18n.COOKIE,
        language,
        max_age=i18n.COOKIE_MAX_AGE,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )
    return response


def _page_it_was_pressed_on() -> str | None:
    """The path (and query) of the Referer, if it is a path of this site. Not a field of the
    form: a page must not carry its own address (a link's token, say) in its markup."""
    parts = urlsplit(request.referrer or "")
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


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
