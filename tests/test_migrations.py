"""The migrations build exactly the schema the models describe: `flask db upgrade` on an
empty database, then Alembic's autogenerate (`flask db check`) finds nothing to add."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from app import create_app
from app.extensions import db
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
