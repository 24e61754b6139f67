"""Rate limits kept in Redis (shared by every worker and host), and forms that keep working
when that store is down."""

from __future__ import annotations

import os

import pytest

from tests.accounts import submit
from tests.conftest import IN_CI
from tests.smtp_server import free_port

# Database 15 of the local Redis: emptied before and after, so nothing else may use it.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {REDIS_URL} ({exc}); set TEST_REDIS_URL"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def reset_answers(app, count):
    client = app.test_client()
    return [submit(client, "/reset-password", {"email": f"u{n}@example.com"}) for n in range(count)]


def test_limits_are_counted_in_redis_where_every_worker_sees_them(make_app, smtp, redis_client):
    app = make_app(MAIL_PORT=smtp.port, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL)
    answers = reset_answers(app, 12)
    assert answers[0].status_code == 302
    assert answers[-1].status_code == 429
    assert redis_client.dbsize() > 0, "no counter was written to Redis"


def test_forms_keep_working_and_limited_when_the_limit_store_is_down(make_app, smtp):
    app = make_app(
        MAIL_PORT=smtp.port,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
    )
    answers = reset_answers(app, 12)
    assert all(r.status_code in (302, 429) for r in answers), [r.status_code for r in answers]
    assert answers[0].status_code == 302
    assert answers[-1].status_code == 429, "the in-memory fallback should still limit"
