"""Account views (sign-up, confirmation, log-in, reset, account page).

HTTP only: forms in, redirects and pages out. What each form does lives in
`accounts`; the mail it causes in `emails`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext, refresh
from flask_login import current_user, login_required, logout_user

from app import i18n
from app.auth import accounts, codes, tokens
from app.auth.forms import (
    BROWSER_LANGUAGE,
    ChangePasswordForm,
    CodeForm,
    CompleteSignupForm,
    EmailOnlyForm,
    LanguageForm,
    LoginForm,
    ResetPasswordForm,
    SignupForm,
)
from app.auth.limits import limit_code_entry, limit_login, limit_mail_form
from app.auth.redirects import safe_next
from app.auth.sessions import (
    active_sessions,
    current_session,
    end_session_of,
    log_out_other_sessions,
    note_activity,
    renew_session,
    start_session,
)

bp = Blueprint("auth", __name__)
# Every request checks its session on the server before the view runs (and notes activity).
bp.before_app_request(note_activity)

INVALID_LOGIN = _l("Invalid email or password.")
# The pages reached after a mail form: the same whatever the address.
INBOX_PURPOSES = ("signup", "confirm", "reset")


@bp.route("/signup", methods=["GET", "POST"])
@limit_mail_form
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    form = SignupForm()
    if form.validate_on_submit():
        accounts.request_signup(form.email.data)
        return redirect(url_for("auth.check_inbox", purpose="signup"))
    return render_template("auth/signup.html", form=form)


@bp.route("/check-your-inbox/<purpose>", methods=["GET", "POST"])
@limit_code_entry
def check_inbox(purpose: str):
    """Where a mail form leads: the same words whatever the address, and a box for the code
    the email carries beside its link (for mail read on another device)."""
    if purpose not in INBOX_PURPOSES:
        abort(404)
    form = CodeForm()
    if form.validate_on_submit():
        kind = codes.RESET if purpose == "reset" else codes.SIGNUP
        outcome, target = accounts.link_for_code(kind, form.code.data)
        if target:
            return redirect(target)
        form.code.errors.append(codes.ANSWERS[outcome])
    return render_template("auth/check_inbox.html", purpose=purpose, form=form)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """GET only shows the form (mail scanners fetch links, some run scripts); the account
    exists from the POST that chooses its password."""
    email = tokens.email_from_confirm_token(token)
    if email is None or not accounts.can_complete_signup(email):
        form = EmailOnlyForm(formdata=None)
        return render_template("auth/confirm_invalid.html", form=form), 400
    form = CompleteSignupForm()
    if form.validate_on_submit():
        if accounts.complete_signup(email, form.password.data) is None:
            return render_template("auth/confirm_invalid.html", form=EmailOnlyForm(None)), 400
        session["login_email"] = email
        flash(_("Your account is ready. Log in with your new password."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/confirm.html", form=form, email=email)


@bp.route("/confirm/resend", methods=["GET", "POST"])
@limit_mail_form
def resend_confirmation():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        accounts.request_confirmation_again(form.email.data)
        return redirect(url_for("auth.check_inbox", purpose="confirm"))
    return render_template("auth/resend.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limit_login
def login():
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for("main.home"))
    # The address just confirmed is filled in (kept in the session, never in a URL).
    form = LoginForm(email=session.pop("login_email", None))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    user = accounts.authenticate(form.email.data, form.password.data)
    if user is None:
        return render_template("auth/login.html", form=form, error=INVALID_LOGIN)
    start_session(user)
    accounts.record_login(user)
    refresh()  # the flash speaks the language of the page it lands on: the user's own
    flash(_("You are logged in."), "success")
    return redirect(target or url_for("main.home"))


@bp.post("/logout")
def logout():
    logout_user()  # ends the session on the server too: every copy of the cookie is dead
    refresh()  # the flash lands on a page for nobody in particular: the browser's language
    flash(_("You are logged out."), "info")
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
        flash(_("Your password is changed. Log in with the new one."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, email=user.email)


@bp.get("/account")
@login_required
def account():
    return _account_page(LanguageForm(language=_saved_language()))


@bp.post("/account/language")
@login_required
def choose_language():
    form = LanguageForm()
    if not form.validate_on_submit():
        # The error beside the choice that is still in force (the one posted was none).
        form.language.data = _saved_language()
        return _account_page(form)
    chosen = None if form.language.data == BROWSER_LANGUAGE else form.language.data
    accounts.choose_language(current_user._get_current_object(), chosen)
    refresh()  # the flash, and the page it lands on, speak the new choice at once
    if chosen is None:
        flash(_("Mailroom now follows your browser's language."), "success")
    else:
        name = i18n.LANGUAGE_NAMES[chosen]
        flash(_("Mailroom now speaks %(language)s to you.", language=name), "success")
    return redirect(url_for("auth.account"))


def _saved_language() -> str:
    # A value Mailroom no longer speaks (from an older release) counts as no choice, as it
    # does for the page's language.
    return i18n.supported(current_user.locale) or BROWSER_LANGUAGE


def _account_page(language_form: LanguageForm):
    sessions = active_sessions(current_user)
    return render_template("account/index.html", sessions=sessions, language_form=language_form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    # The form checks the current password too, so every problem is reported at once.
    form = ChangePasswordForm(current_user.password_hash)
    if form.validate_on_submit():
        user = current_user._get_current_object()
        accounts.change_password(user, form.password.data)
        # Every other session has ended; this one carries on under a new id, so a copy
        # of its cookie taken before the change is no session either.
        renew_session(user)
        flash(_("Your password is changed. Other sessions are logged out."), "success")
        return redirect(url_for("auth.account"))
    return render_template("account/change_password.html", form=form)


@bp.post("/account/sessions/<public_id>/logout")
@login_required
def log_out_session(public_id: str):
    here = current_session()
    # Someone else's session, an ended one and a made-up id all get the same answer.
    if not end_session_of(current_user, public_id):
        abort(404)
    if here is not None and here.public_id == public_id:
        logout_user()
        refresh()  # as on log-out: the home page it lands on speaks the browser's language
        flash(_("You are logged out."), "info")
        return redirect(url_for("main.home"))
    flash(_("That session is logged out."), "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/sessions/logout-others")
@login_required
def log_out_others():
    ended = log_out_other_sessions(current_user)
    message = ngettext(
        "Logged out %(num)d other session.", "Logged out %(num)d other sessions.", ended
    )
    flash(message, "success")
    return redirect(url_for("auth.account"))
