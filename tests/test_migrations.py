"""The migrations build exactly the schema the models describe: `flask db upgrade` on an
empty database, then Alembic's autogenerate (`flask db check`) finds nothing to add."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.auth.passwords import hash_password
from app.auth.tokens import confirm_token_for
from app.extensions import db
from tests.accounts import NEW_PASSWORD, PASSWORD, choose_password, resolve_requests, submit
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture
def empty_database(private_database_url):
    engine = create_engine(private_database_url)
    yield private_database_url, engine
    engine.dispose()


def flask_db(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "APP_ENV": "testing", "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_upgrade_builds_the_schema_of_the_models(empty_database):
    url, engine = empty_database
    upgrade = flask_db(url, "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    check = flask_db(url, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    create_app(base_config(url))  # imports every model, as the factory does
    found = inspect(engine)
    assert set(found.get_table_names()) == set(db.metadata.tables) | {"alembic_version"}
    for name, table in db.metadata.tables.items():
        assert {c["name"] for c in found.get_columns(name)} == set(table.columns.keys())


def test_an_unconfirmed_account_from_before_email_first_sign_up_is_completed_after_upgrade(
    empty_database,
):
    """Made when sign-up took a password, never confirmed: after `flask db upgrade` its
    password no longer logs in, and the owner completes it through a new sign-up link."""
    url, engine = empty_database
    before = flask_db(url, "upgrade", "147b956ce4ed")
    assert before.returncode == 0, before.stderr
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (email, password_hash, is_admin, session_version, created_at)"
                " VALUES ('old@example.com', :hash, false, 1, CURRENT_TIMESTAMP)"
            ),
            {"hash": hash_password(PASSWORD)},
        )
    upgrade = flask_db(url, "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr

    app = create_app(base_config(url))
    client = app.test_client()
    refused = submit(client, "/login", {"email": "old@example.com", "password": PASSWORD})
    assert refused.status_code == 200 and "Invalid email or password" in refused.text
    submit(client, "/signup", {"email": "old@example.com"})
    assert resolve_requests(app) == 1
    with app.app_context():
        token = confirm_token_for("old@example.com")
    assert choose_password(client, f"/confirm/{token}", NEW_PASSWORD).status_code == 302
    welcome = submit(client, "/login", {"email": "old@example.com", "password": NEW_PASSWORD})
    assert welcome.status_code == 302
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
