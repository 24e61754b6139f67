"""The app factory: configuration first, then extensions, blueprints, handlers, commands."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config as settings
from app.db import engine_options
from app.extensions import babel, csrf, db, limiter, login_manager, mailer

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("mailroom")


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. `test_config` replaces the environment entirely (tests are hermetic)
    and is applied before any extension is initialised: Flask-Mail decides suppression
    in `init_app`."""
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(ROOT / "instance"),
    )
    configure(app, test_config)
    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_mail_hooks(app)
    register_senders(app)
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    return app


def configure(app: Flask, test_config: dict | None) -> None:
    if test_config is None:
        config, problems = settings.load_environment()
    else:
        config, problems = settings.load_environment({"APP_ENV": "testing"})
        config.update(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    config = settings.apply_defaults(config, app.instance_path)
    more_problems, warnings = settings.check(config)
    problems += more_problems
    if problems:
        raise settings.ConfigError(problems)
    app.config.update(config)
    app.config["CONFIG_WARNINGS"] = warnings
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        config["SQLALCHEMY_DATABASE_URI"], config["MAIL_SENDER_THREADS"]
    )
    app.config.setdefault("MAIL_AUTOSTART_SENDERS", not app.config["TESTING"])
    app.debug = config["APP_ENV"] == "development"
    _configure_logging(app)
    for warning in warnings:
        log.warning("configuration: %s", warning)


def _configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    logging.getLogger("mailroom").setLevel(logging.INFO)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    mailer.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    from app import i18n

    # translations/ sits beside app/, like templates/ and static/.
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        default_translation_directories=str(ROOT / "translations"),
    )
    i18n.init_app(app)
    # Import the models so that migrations and create_all see every table.
    from app import models  # noqa: F401
    from app.auth import codes, mail_requests  # noqa: F401
    from app.mail import models as mail_models  # noqa: F401
    from app.mail import suppression  # noqa: F401
    from app.webhooks import replay  # noqa: F401


def register_security(app: Flask) -> None:
    from app import security

    security.init_app(app)


def register_blueprints(app: Flask) -> None:
    from app import metrics
    from app.admin.views import bp as admin_bp
    from app.auth.email_change_views import bp as email_change_bp
    from app.auth.views import bp as auth_bp
    from app.main import bp as main_bp
    from app.webhooks.views import bp as webhooks_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(email_change_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(webhooks_bp)
    metrics.init_app(app)
    if app.config["APP_ENV"] == "development":
        from app.dev.views import bp as dev_bp

        app.register_blueprint(dev_bp)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from app import db_commands
    from app.admin.cli import users_cli
    from app.mail.cli import mail_cli

    app.cli.add_command(mail_cli)
    app.cli.add_command(users_cli)
    db_commands.register(app)


def register_mail_hooks(app: Flask) -> None:
    """Account mail asked for by a stranger's form is decided by the senders, not the request."""
    from app.auth import mail_requests

    mail_requests.register(app)


def register_senders(app: Flask) -> None:
    """Senders start in the process that serves, after any fork: lazily, on the first request
    (gunicorn.conf.py also starts them as each worker boots)."""
    from app.mail.sender import start_senders

    if not app.config["MAIL_AUTOSTART_SENDERS"] or app.config["MAIL_SENDER_THREADS"] <= 0:
        return

    @app.before_request
    def _ensure_senders() -> None:
        start_senders(app)
