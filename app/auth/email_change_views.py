"""Change-of-address pages: the request (account page), the confirm link's page and the
undo link's page. Every emailed link opens a page whose button POSTs."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required, logout_user

from app.auth import codes, email_change, tokens
from app.auth.forms import ChangeEmailForm, CodeForm, ConfirmForm
from app.auth.limits import limit_code_entry, limit_mail_form
from app.auth.passwords import check_password

bp = Blueprint("email_change", __name__, url_prefix="/account/email")


@bp.route("", methods=["GET", "POST"])
@login_required
@limit_mail_form
def request_change():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not check_password(user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("That is not your current password."))
        elif form.email.data == user.email:
            form.email.errors.append(_("That is already your address."))
        else:
            email_change.request_change(user, form.email.data)
            return render_template("account/change_email_sent.html", form=CodeForm(None))
    return render_template("account/change_email.html", form=form)


@bp.post("/code")
@login_required
@limit_code_entry
def enter_code():
    form = CodeForm()
    if form.validate_on_submit():
        outcome, target = email_change.link_for_code(current_user, form.code.data)
        if target:
            return redirect(target)
        form.code.errors.append(codes.ANSWERS[outcome])
    return render_template("account/change_email_sent.html", form=form)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    found = tokens.change_from_token(token)
    if found is None or not email_change.address_is_free(*found):
        return render_template("account/change_email_invalid.html"), 400
    user, new_email = found
    form = ConfirmForm()
    if form.validate_on_submit():
        if not email_change.confirm_change(user, new_email):
            return render_template("account/change_email_invalid.html"), 400
        flash(_("Your address is now %(email)s.", email=new_email), "success")
        return redirect(url_for("auth.account" if current_user.is_authenticated else "auth.login"))
    return render_template("account/change_email_confirm.html", form=form, new_email=new_email)


@bp.route("/undo/<token>", methods=["GET", "POST"])
def undo(token: str):
    found = tokens.undo_from_token(token)
    if found is None:
        return render_template("account/change_email_invalid.html", undo=True), 400
    user, old_email = found
    form = ConfirmForm()
    if form.validate_on_submit():
        if not email_change.undo_change(user, old_email):
            return render_template("account/change_email_invalid.html", undo=True), 400
        logout_user()
        refresh()  # the flash lands on a page for nobody logged in: the browser's language
        flash(_("Your address is back. Choose a new password to open your account."), "success")
        return redirect(url_for("auth.reset_password", token=tokens.reset_token_for(user)))
    return render_template("account/change_email_undo.html", form=form, old_email=old_email)
