"""Admin mail console views: settings, test email, connection doctor, outbox, previews.

HTTP only: what each page shows is gathered in `summary`, `outbox_pages`,
`app.mail.status`, `app.mail.diagnostics` and `app.mail.previews`. Every view is
for admins only (`access.protect`).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import TemplateNotFound

from app.admin import access, outbox_pages, summary, suppression_pages
from app.admin.figures import COUNT_CAP, bounded_counts, outbox_figures, senders_alive
from app.admin.forms import ActionForm, CheckForm, OutboxFilterForm, TestEmailForm
from app.admin.masking import carries_codes, masked_mime
from app.extensions import db, limiter
from app.mail import outbox, send_email, suppression
from app.mail.cli import TEST_PRIORITY
from app.mail.diagnostics import diagnose
from app.mail.models import OutboxMessage
from app.mail.previews import SAMPLES, missing_samples, render_preview, template_names

bp = Blueprint("admin", __name__, url_prefix="/admin")
access.protect(bp)
# "10,000" in English is "10.000" in German: counts and sizes follow the page's language.
bp.add_app_template_filter(format_number, "number")
smtp_action_limit = limiter.limit(access.SMTP_ACTIONS_PER_USER, key_func=access.per_admin)

# The HTML of an email is shown framed and inert: no script, no request anywhere, and
# only this site may frame it (the site-wide policy forbids all framing). Same-origin lets
# the page size the frame to the email; with no scripts the email cannot use it.
EMAIL_FRAME_POLICY = (
    "sandbox allow-same-origin; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'"
)


@bp.get("/")
def index():
    return redirect(url_for("admin.mail_settings"))


@bp.get("/mail")
def mail_settings():
    test_form = TestEmailForm(formdata=None, to=current_user.email)
    return _settings_page(test_form, CheckForm(formdata=None))


def _settings_page(test_form: TestEmailForm, check_form: CheckForm, status: int = 200):
    return render_template(
        "admin/mail.html",
        settings=summary.settings_rows(current_app.config),
        warnings=current_app.config.get("CONFIG_WARNINGS", []),
        figures=outbox_figures(),
        count_cap=COUNT_CAP,
        test_form=test_form,
        check_form=check_form,
    ), status


@bp.post("/mail/test")
@smtp_action_limit
def send_test():
    form = TestEmailForm()
    if not form.validate():
        return _settings_page(form, CheckForm(formdata=None), 400)
    # The real outbox, ahead of other mail: that is what this proves.
    row = send_email(form.to.data, "test_email", priority=TEST_PRIORITY)
    db.session.commit()
    return redirect(url_for("admin.outbox_message", id=row.id))


@bp.post("/mail/check")
@smtp_action_limit
def check():
    form = CheckForm()
    if not form.validate():
        test_form = TestEmailForm(formdata=None, to=current_user.email)
        return _settings_page(test_form, form, 400)
    # RCPT TO is always tried: a relay that refuses the sender does so there, not at MAIL FROM.
    diagnosis = diagnose(current_app.config, form.rcpt.data or current_user.email)
    return render_template("admin/check.html", diagnosis=diagnosis, form=form)


@bp.get("/mail/outbox", endpoint="outbox")
def outbox_list():
    form = OutboxFilterForm(request.args)
    if not form.validate():
        abort(400, _("That status or address filter is not valid."))
    before = outbox_pages.cursor(request.args.get("before", type=int))
    after = outbox_pages.cursor(request.args.get("after", type=int))
    page = outbox_pages.find_messages(form.status.data, form.q.data, before, after)
    return render_template(
        "admin/outbox.html",
        form=form,
        page=page,
        counts=bounded_counts(),
        count_cap=COUNT_CAP,
        search_window=outbox_pages.SEARCH_WINDOW,
    )


# An id past what the column holds is no message: 404 from the route, before any query.
MESSAGE_ID = f"<int(max={outbox_pages.MAX_ID}):id>"


@bp.get(f"/mail/outbox/{MESSAGE_ID}")
def outbox_message(id: int):
    row = db.get_or_404(OutboxMessage, id)
    outcome = outbox_pages.delivery_outcome(row, senders_alive())
    return render_template(
        "admin/message.html",
        row=row,
        parts=outbox_pages.message_parts(row),
        outcome=outcome,
        retry_form=ActionForm(),
    )


@bp.get(f"/mail/outbox/{MESSAGE_ID}/html")
def outbox_html(id: int):
    row = db.get_or_404(OutboxMessage, id)
    html = outbox_pages.message_parts(row).html
    if html is None:
        abort(404, _("This message has no HTML part (or its body was purged)."))
    return _framed_email(html)


@bp.get(f"/mail/outbox/{MESSAGE_ID}/raw")
def outbox_raw(id: int):
    """The message as sent (an .eml file), its live links and codes masked."""
    row = db.get_or_404(OutboxMessage, id)
    if row.mime is None:
        abort(404, _("The body of this message is gone: only its record remains."))
    raw = masked_mime(row.mime, codes=carries_codes(row.template))
    response = Response(raw, mimetype="message/rfc822")
    response.headers["Content-Disposition"] = f'attachment; filename="message-{id}.eml"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post(f"/mail/outbox/{MESSAGE_ID}/retry")
def retry(id: int):
    row = db.get_or_404(OutboxMessage, id)
    if outbox.requeue(row):
        db.session.commit()
        flash(_("Message #%(id)s is queued again.", id=id), "success")
    else:
        flash(_("Only a failed or expired message with its body can be retried."), "error")
    return redirect(url_for("admin.outbox_message", id=id))


@bp.get("/mail/suppressions")
def suppressions():
    q = request.args.get("q", "").strip()[:320]
    if any(ord(c) < 32 or ord(c) == 127 for c in q):
        abort(400, _("Control characters are not part of any address."))
    before = outbox_pages.cursor(request.args.get("before", type=int))
    page = suppression_pages.suppressed(q or None, before)
    return render_template(
        "admin/suppressions.html", page=page, q=q, labels=suppression_pages.kind_labels()
    )


@bp.get(f"/mail/suppressions/{MESSAGE_ID}")
def suppression_entry(id: int):
    row = db.get_or_404(suppression.Suppression, id)
    return render_template(
        "admin/suppression.html",
        row=row,
        history=suppression.history(row.address),
        mail=suppression_pages.recent_mail(row.address),
        labels=suppression_pages.kind_labels(),
        lift_form=ActionForm(),
    )


@bp.post(f"/mail/suppressions/{MESSAGE_ID}/lift")
def lift_suppression(id: int):
    row = db.get_or_404(suppression.Suppression, id)
    if suppression.lift(row.address, current_user.email):
        db.session.commit()
        flash(_("%(address)s gets mail again.", address=row.address), "success")
    else:
        flash(_("%(address)s was not suppressed.", address=row.address), "error")
    return redirect(url_for("admin.suppression_entry", id=id))


@bp.get("/mail/previews")
def previews():
    return render_template(
        "admin/previews.html", previews=_all_previews(), missing=missing_samples()
    )


def _all_previews():
    return [render_preview(name) for name in template_names() if name in SAMPLES]


@bp.get("/mail/previews/<name>")
def preview(name: str):
    return render_template("admin/preview.html", preview=_preview_or_404(name))


@bp.get("/mail/previews/<name>/html")
def preview_html(name: str):
    return _framed_email(_preview_or_404(name).mail.html)


def _preview_or_404(name: str):
    if name not in SAMPLES or name not in template_names():
        abort(404, _("There is no email template by that name."))
    try:
        return render_preview(name)
    except TemplateNotFound:
        abort(404, _("The %(name)s template has only one of its .txt and .html parts.", name=name))


def _framed_email(html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = EMAIL_FRAME_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "no-store"
    return response
