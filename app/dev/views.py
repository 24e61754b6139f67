"""Views that exist only when APP_ENV=development: the mailbox of the dev mail catcher.

Caught mail is read from files the catcher writes; a message's HTML is served on its own
URL with a sandboxing policy and shown in a sandboxed frame, so no script in it runs.
"""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import format_number, ngettext
from flask_babel import gettext as _

from app.dev import mailbox, reading
from app.dev.runner import run_dev
from app.mail.catcher import is_listening, mailbox_folder

# cli_group=None: `flask dev` is a top-level command, and exists only when this blueprint does.
bp = Blueprint("dev", __name__, url_prefix="/dev", cli_group=None)
bp.cli.add_command(run_dev)
# Sizes as the page's language writes them ("1,234" in English, "1.234" in German).
bp.add_app_template_filter(format_number, "number")

# The frame may show styles and images and open links in the window; nothing else. It is
# same-origin so that the page can size the frame to the email (static/frame-fit.js): with
# no allow-scripts, nothing in the email can use that.
FRAME_POLICY = "; ".join(
    [
        "sandbox allow-popups allow-popups-to-escape-sandbox "
        "allow-top-navigation-by-user-activation allow-same-origin",
        "default-src 'none'",
        "img-src * data:",
        "style-src 'unsafe-inline'",
        "frame-ancestors 'self'",
    ]
)


@bp.get("/mailbox")
def mailbox_list():
    config = current_app.config
    host, port = config["MAIL_SERVER"], config["MAIL_PORT"]
    return render_template(
        "dev/mailbox.html",
        messages=mailbox.summaries(mailbox_folder(current_app)),
        catcher=f"{host}:{port}",
        listening=is_listening(host, port),
    )


@bp.get("/mailbox/<message_id>")
def message(message_id: str):
    mail = _load_or_404(message_id)
    text = mail.message.text
    pieces = reading.text_pieces(text) if text else []
    return render_template("dev/message.html", mail=mail, text_pieces=pieces)


@bp.get("/mailbox/<message_id>/html")
def message_html(message_id: str):
    mail = _load_or_404(message_id)
    if mail.message.html is None:
        abort(404)
    response = Response(mailbox.framed_html(mail.message.html), mimetype="text/html")
    response.headers["Content-Security-Policy"] = FRAME_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/mailbox/<message_id>/raw")
def message_raw(message_id: str):
    """The bytes as received, never parsed: always there, however odd the message."""
    raw = mailbox.raw_bytes(mailbox_folder(current_app), message_id)
    if raw is None:
        abort(404)
    response = Response(raw, mimetype="text/plain")
    # Mail is ASCII or UTF-8 nearly always; other bytes show as replacement characters.
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="{message_id}.eml"'
    return response


@bp.post("/mailbox/<message_id>/delete")
def delete(message_id: str):
    if not mailbox.delete(mailbox_folder(current_app), message_id):
        abort(404)
    flash(_("The message is deleted."), "success")
    return redirect(url_for("dev.mailbox_list"))


@bp.post("/mailbox/clear")
def clear():
    count = mailbox.clear(mailbox_folder(current_app))
    flash(
        ngettext("Deleted %(num)d caught message.", "Deleted %(num)d caught messages.", count),
        "success",
    )
    return redirect(url_for("dev.mailbox_list"))


def _load_or_404(message_id: str) -> mailbox.CaughtMail:
    mail = mailbox.load(mailbox_folder(current_app), message_id)
    if mail is None:
        abort(404)
    return mail
