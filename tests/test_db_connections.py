"""Pooled PostgreSQL connections: one the server ended (a restart, pg_terminate_backend, an
idle timeout) is replaced when it is next handed out, so the request that gets it succeeds;
a healthy one is handed out without a round trip."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.extensions import db
from tests.conftest import wait_for


@pytest.fixture
def pg_app(make_app):
    return make_app(MAIL_SENDER_THREADS=0)


def _backend_pid(app) -> int:
    with app.app_context():
        pid = db.session.scalar(text("select pg_backend_pid()"))
        db.session.commit()
        db.session.remove()
        return pid


def _terminate(postgres_url: str, pid: int) -> None:
    url = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("select pg_terminate_backend(%s)", (pid,))
        gone = "select count(*) from pg_stat_activity where pid = %s"
        wait_for(lambda: admin.execute(gone, (pid,)).fetchone()[0] == 0)


@pytest.fixture
def pings(monkeypatch) -> list[str]:
    """What the pool asks a connection on its own (through psycopg's Connection.execute;
    SQLAlchemy's statements go through cursors)."""
    asked: list[str] = []
    execute = psycopg.Connection.execute

    def recording(self, query, *args, **kwargs):
        asked.append(query)
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", recording)
    return asked


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_the_server_ended_is_replaced_not_failed_on(pg_app, postgres_url, pings):
    first = _backend_pid(pg_app)
    _terminate(postgres_url, first)
    pings.clear()

    # The same pooled connection comes back next; the request using it must not fail.
    assert _backend_pid(pg_app) != first
    assert pings == ["SELECT 1"], "the ended connection was asked, and then replaced"
    _terminate(postgres_url, _backend_pid(pg_app))
    # /healthz asks the database first, and says so when it cannot reach it.
    health = pg_app.test_client().get("/healthz").get_json()
    assert "database unreachable" not in health["reasons"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_healthy_pooled_connection_is_handed_out_without_a_round_trip(pg_app, pings):
    first = _backend_pid(pg_app)
    for _ in range(3):
        assert _backend_pid(pg_app) == first
    assert pings == []
