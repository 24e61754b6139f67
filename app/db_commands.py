"""`flask db ...`: Flask-Migrate's commands, with Flask-Migrate and Alembic loaded only when
one of them runs.

Importing Flask-Migrate imports Alembic: about 0.3 s of CPU that every process paid at start
(each `flask mail worker`, each gunicorn worker) for commands only a deploy runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
from flask import Flask

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class DbCommand(click.Command):
    """Stands in for Flask-Migrate's `db` group in `flask --help` until `flask db ...` is
    parsed: then Flask-Migrate is set up on the app and its own group takes over."""

    def __init__(self, app: Flask):
        super().__init__("db", help="Perform database migrations.", add_help_option=False)
        self.app = app

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        return load_migrate(self.app).make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context):
        return ctx.command.invoke(ctx)  # ctx was made by Flask-Migrate's group


def register(app: Flask) -> None:
    app.cli.add_command(DbCommand(app))


def load_migrate(app: Flask) -> click.Command:
    """Flask-Migrate as `Migrate(app, db, directory=...)` would set it up at start; its
    init_app also replaces this stand-in with its own `db` group."""
    # Alembic notes each plugin it sets up at INFO; imported before logging was configured,
    # as it used to be, those lines were never shown.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from flask_migrate import Migrate

    from app.extensions import db

    if "migrate" not in app.extensions:
        Migrate(app, db, directory=str(MIGRATIONS))
    return app.cli.commands["db"]
