"""Who may use the admin console: admins only, checked before anything else runs.

The anonymous are sent to log in, a signed-in non-admin gets 403, and only then
is a POST's CSRF token checked, so an outsider learns nothing beyond "not for you".
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from app.extensions import csrf, login_manager

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Test emails and checks touch the SMTP server: a person needs a few, a loop needs thousands.
SMTP_ACTIONS_PER_USER = "10 per minute"


def protect(bp: Blueprint) -> None:
    """Guard every view of `bp`, including ones added later."""
    # CSRF stays on for every POST here, checked by `_only_admins` after the access check.
    csrf.exempt(bp)
    bp.before_request(_only_admins)


def _only_admins():
    if not current_user.is_authenticated:
        return _to_login()
    if not current_user.is_admin:
        abort(403)
    if request.method not in SAFE_METHODS:
        csrf.protect()
    return None


def _to_login():
    # After logging in, a GET comes back to where it was; a POST cannot be replayed.
    back = (
        request.full_path.rstrip("?") if request.method == "GET" else url_for("admin.mail_settings")
    )
    if login_manager.login_message:
        flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(url_for(login_manager.login_view or "auth.login", next=back))


def per_admin() -> str:
    """Rate-limit key: the signed-in admin (the client address for anyone else)."""
    user_id = getattr(current_user, "id", None)
    return f"admin:{user_id}" if user_id is not None else f"client:{request.remote_addr}"
