"""Account views (sign-up, confirmation, log-in, reset, account page).

HTTP only: forms in, redirects and pages out. What each form does lives in
`accounts`; the mail it causes in `emails`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user

from app.auth import accounts, tokens
from app.auth.forms import (
    ChangePasswordForm,
    EmailOnlyForm,
    LoginForm,
    ResetPasswordForm,
    SignupForm,
)
from app.auth.limits import limit_login, limit_mail_form
from app.auth.passwords import check_password
from app.auth.redirects import safe_next
from app.auth.sessions import start_session

bp = Blueprint("auth", __name__)

INVALID_LOGIN = "Invalid email or password."
# The pages reached after a mail form: the same whatever the address.
INBOX_PURPOSES = ("signup", "confirm", "reset")


@bp.route("/signup", methods=["GET", "POST"])
@limit_mail_form
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    form = SignupForm()
    if form.validate_on_submit():
        accounts.register(form.email.data, form.password.data)
        return redirect(url_for("auth.check_inbox", purpose="signup"))
    return render_template("auth/signup.html", form=form)


@bp.get("/check-your-inbox/<purpose>")
def check_inbox(purpose: str):
    if purpose not in INBOX_PURPOSES:
        abort(404)
    return render_template("auth/check_inbox.html", purpose=purpose)


@bp.get("/confirm/<token>")
def confirm(token: str):
    email = tokens.email_from_confirm_token(token)
    user = accounts.confirm(email) if email else None
    if user is None:
        form = EmailOnlyForm(formdata=None)
        return render_template("auth/confirm_invalid.html", form=form), 400
    flash("Your email address is confirmed. You can log in now.", "success")
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.login"))


@bp.route("/confirm/resend", methods=["GET", "POST"])
@limit_mail_form
def resend_confirmation():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        accounts.resend_confirmation(form.email.data)
        return redirect(url_for("auth.check_inbox", purpose="confirm"))
    return render_template("auth/resend.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limit_login
def login():
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for("main.home"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    user = accounts.authenticate(form.email.data, form.password.data)
    if user is None:
        return render_template("auth/login.html", form=form, error=INVALID_LOGIN)
    if not user.is_confirmed:
        # Told only after the right password: it reveals nothing to someone guessing.
        resend = EmailOnlyForm(formdata=None, email=user.email)
        return render_template("auth/confirm_needed.html", form=resend)
    start_session(user)
    accounts.record_login(user)
    flash("You are logged in.", "success")
    return redirect(target or url_for("main.home"))


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("main.home"))


@bp.route("/reset-password", methods=["GET", "POST"])
@limit_mail_form
def reset_request():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        accounts.request_reset(form.email.data)
        return redirect(url_for("auth.check_inbox", purpose="reset"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    # GET only shows the form: mail scanners fetch links, and must not spend the token.
    user = tokens.user_for_reset_token(token)
    if user is None:
        return render_template("auth/reset_invalid.html"), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        accounts.reset_password(user, form.password.data)
        logout_user()
        flash("Your password is changed. Log in with the new one.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.get("/account")
@login_required
def account():
    return render_template("account/index.html")


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not check_password(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append("That is not your current password.")
        else:
            user = current_user._get_current_object()
            accounts.change_password(user, form.password.data)
            # This session carries on under the new version; every other one has ended.
            start_session(user)
            flash("Your password is changed. Other sessions are logged out.", "success")
            return redirect(url_for("auth.account"))
    return render_template("account/change_password.html", form=form)
