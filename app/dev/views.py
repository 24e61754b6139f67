"""Views that exist only when APP_ENV=development: the mailbox of the dev mail catcher.

Caught mail is read from files the catcher writes; a message's HTML is served on its own
URL with a sandboxing policy and shown in a sandboxed frame, so no script in it runs.
"""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for

from app.dev import mailbox
from app.dev.runner import run_dev
from app.mail.catcher import is_listening, mailbox_folder

# cli_group=None: `flask dev` is a top-level command, and exists only when this blueprint does.
bp = Blueprint("dev", __name__, url_prefix="/dev", cli_group=None)
bp.cli.add_command(run_dev)

# The frame may show styles and images and open links in the window; nothing else.
FRAME_POLICY = "; ".join(
    [
        "sandbox allow-popups allow-popups-to-escape-sandbox "
        "allow-top-navigation-by-user-activation",
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
    pieces = mailbox.text_pieces(mail.text) if mail.text else []
    return render_template("dev/message.html", mail=mail, text_pieces=pieces)


@bp.get("/mailbox/<message_id>/html")
def message_html(message_id: str):
    mail = _load_or_404(message_id)
    if mail.html is None:
        abort(404)
    response = Response(mailbox.framed_html(mail.html), mimetype="text/html")
    response.headers["Content-Security-Policy"] = FRAME_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/mailbox/<message_id>/raw")
def message_raw(message_id: str):
    mail = _load_or_404(message_id)
    return Response(mail.raw.decode("utf-8", "replace"), mimetype="text/plain")


@bp.post("/mailbox/clear")
def clear():
    count = mailbox.clear(mailbox_folder(current_app))
    flash(f"Deleted {count} caught message(s).", "success")
    return redirect(url_for("dev.mailbox_list"))


def _load_or_404(message_id: str) -> mailbox.CaughtMail:
    mail = mailbox.load(mailbox_folder(current_app), message_id)
    if mail is None:
        abort(404)
    return mail
