"""`flask dev`: the whole development setup as one foreground command (what `make run` runs).

The dev mail catcher listens on MAIL_SERVER:MAIL_PORT, the sender threads start at boot
in the process that serves, and the Werkzeug server reloads on code changes. With the
reloader the catcher lives in the outer process, so it survives reloads; Ctrl-C stops all.
"""

from __future__ import annotations

import atexit

import click
from flask import Flask, current_app
from werkzeug.serving import is_running_from_reloader, run_simple

from app.mail.catcher import Catcher, is_listening, mailbox_folder
from app.mail.sender import start_senders, stop_senders

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="FLASK_RUN_HOST")
@click.option("--port", default=5000, show_default=True, type=int, envvar="FLASK_RUN_PORT")
@click.option("--reload/--no-reload", default=True, help="Restart when the code changes.")
def run_dev(host: str, port: int, reload: bool) -> None:
    """Run the app, the dev mail catcher and the senders together; Ctrl-C stops them."""
    app = current_app._get_current_object()
    catcher = None
    if not is_running_from_reloader():
        catcher = start_catcher(app)
        click.echo(banner(app, host, port, catcher))
    if not reload or is_running_from_reloader():
        # This process serves: send from here at once, mail queued before any request too.
        start_senders(app)
        atexit.register(stop_senders, app)
    try:
        run_simple(host, port, app, use_reloader=reload, use_debugger=True, threaded=True)
    finally:
        if catcher is not None:
            catcher.stop()


def start_catcher(app: Flask) -> Catcher | None:
    """Start the catcher where the app sends mail, unless mail goes to a real server."""
    config = app.config
    host, port = config["MAIL_SERVER"], config["MAIL_PORT"]
    if host not in LOOPBACK or config["MAIL_USE_SSL"] or config["MAIL_USE_TLS"]:
        return None
    if is_listening(host, port):
        return None  # `flask mail catcher` (or another catcher) already runs there
    return Catcher(mailbox_folder(app), host, port).start()


def banner(app: Flask, host: str, port: int, catcher: Catcher | None) -> str:
    config = app.config
    url = f"http://{host}:{port}"
    relay = f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}"
    if catcher is not None:
        mail = f"caught on {relay}, read it at {url}/dev/mailbox"
    elif is_listening(config["MAIL_SERVER"], config["MAIL_PORT"]):
        mail = f"sent to {relay} (already listening), read it at {url}/dev/mailbox"
    else:
        mail = f"sent to {relay} (MAIL_SERVER in your settings)"
    lines = [
        "",
        "  Mailroom (development)",
        f"    App:     {url}",
        f"    Mail:    {mail}",
        f"    Health:  {url}/healthz",
        "    Admin:   APP_ENV=development .venv/bin/flask --app wsgi users create-admin EMAIL",
        "             (in another terminal; it asks for a password)",
        "    Stop:    Ctrl-C",
    ]
    if config["APP_BASE_URL"].rstrip("/") != url:
        lines.append(
            f"    Note:    links in emails point at APP_BASE_URL={config['APP_BASE_URL']}, "
            f"not {url}"
        )
    return "\n".join(lines) + "\n"
