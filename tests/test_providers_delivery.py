"""Delivery with XOAUTH2 against the tests' token endpoint and an SMTP server checking bearer
tokens: each grant, one token for many messages and threads, renewal before expiry, one
renewal after a refusal, failures that spend no attempts, and no secret anywhere shown."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.mail import hints
from app.mail.models import SenderState
from app.mail.oauth2 import source as token_source_module
from app.mail.transport import SmtpSettings
from tests import provider_helpers
from tests.admin_helpers import admin_client
from tests.conftest import wait_for
from tests.outbox_helpers import queue, stored
from tests.provider_helpers import (
    MAILBOX,
    debug_logging,
    google_refresh,
    microsoft_app_only,
    microsoft_delegated,
    our_log,
    secrets_of,
)
from tests.smtp_server import free_port

token_endpoint = provider_helpers.token_endpoint
make_provider_smtp = provider_helpers.make_provider_smtp


def xoauth2_app(make_app, server, settings: dict, **overrides):
    return make_app(MAIL_PORT=server.port, **settings, **overrides)


def sent(app, ids) -> bool:
    return all(stored(app, i).status == "sent" for i in ids)


def held_back(app, row_id) -> bool:
    """Handed back after a transport failure: still queued, its reason recorded."""
    row = stored(app, row_id)
    return row.status == "queued" and bool(row.last_error)


@pytest.mark.parametrize("grant", [microsoft_app_only, microsoft_delegated, google_refresh])
def test_message_is_delivered_with_xoauth2_under_each_grant(
    grant, token_endpoint, make_provider_smtp, make_app, senders, certs
):
    server = make_provider_smtp(tokens=token_endpoint.valid)
    app = xoauth2_app(make_app, server, grant(token_endpoint, certs))
    [row_id] = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: sent(app, [row_id]))
    assert server.auth_log == [("XOAUTH2", MAILBOX, True)]
    assert [m.rcpt_tos for m in server.messages] == [["ada@example.com"]]
    assert stored(app, row_id).attempts == 1


def test_one_token_serves_200_messages_across_four_sender_threads(
    token_endpoint, make_provider_smtp, make_app, senders, certs
):
    server = make_provider_smtp(tokens=token_endpoint.valid)
    # A new connection every 10 messages: many sign-ins, each with the one token.
    app = xoauth2_app(
        make_app, server, microsoft_app_only(token_endpoint, certs), MAIL_MAX_EMAILS=10
    )
    ids = queue(app, *[f"user{i}@example.com" for i in range(200)])
    senders(app, threads=4)
    wait_for(lambda: sent(app, ids), timeout=60)
    assert token_endpoint.token_requests() == 1
    assert len(server.auth_log) >= 20
    assert all(accepted for _, _, accepted in server.auth_log)
    # The threads that found another's first sign-in under way waited for it: none failed.
    with app.app_context():
        assert db.session.scalars(select(SenderState.last_error)).all() == [None] * 4


def test_token_is_renewed_before_it_expires(
    token_endpoint, make_provider_smtp, make_app, senders, certs, monkeypatch
):
    server = make_provider_smtp(tokens=token_endpoint.valid)
    app = xoauth2_app(make_app, server, google_refresh(token_endpoint, certs), MAIL_MAX_EMAILS=1)
    senders(app)
    first = queue(app, "ada@example.com")
    wait_for(lambda: sent(app, first))
    # 56 minutes later by the token cache's clock: 4 minutes left, so it is renewed now.
    later = clock.utcnow() + timedelta(minutes=56)
    monkeypatch.setattr(token_source_module, "clock", SimpleNamespace(utcnow=lambda: later))
    second = queue(app, "bob@example.com")
    wait_for(lambda: sent(app, second))
    assert token_endpoint.token_requests() == 2
    assert [accepted for _, _, accepted in server.auth_log] == [True, True]


@pytest.mark.parametrize("style", ["microsoft", "google"])
def test_expired_token_refused_by_the_server_is_renewed_once_and_the_mail_delivered(
    style, token_endpoint, make_provider_smtp, make_app, senders, certs
):
    server = make_provider_smtp(tokens=token_endpoint.valid, style=style)
    app = xoauth2_app(
        make_app, server, microsoft_app_only(token_endpoint, certs), MAIL_MAX_EMAILS=1
    )
    senders(app)
    first = queue(app, "ada@example.com")
    wait_for(lambda: sent(app, first))
    token_endpoint.expire_all()  # the server now refuses the token the cache still holds
    second = queue(app, "bob@example.com")
    wait_for(lambda: sent(app, second))
    assert [accepted for _, _, accepted in server.auth_log] == [True, False, True]
    assert token_endpoint.token_requests() == 2
    assert stored(app, second[0]).attempts == 1


def test_a_second_refusal_is_a_transport_failure_that_spends_no_attempts(
    token_endpoint, make_provider_smtp, make_app, senders, certs
):
    server = make_provider_smtp(tokens=lambda token: False)
    app = xoauth2_app(make_app, server, microsoft_app_only(token_endpoint, certs))
    [row_id] = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: held_back(app, row_id))
    row = stored(app, row_id)
    assert row.attempts == 0
    assert "535 5.7.3 Authentication unsuccessful" in row.last_error
    # The first sign-in: the cached token, then one renewed token, then no more.
    assert [accepted for _, _, accepted in server.auth_log[:2]] == [False, False]
    assert token_endpoint.requests[1].grant_type == "client_credentials"
    assert not server.messages


@pytest.mark.parametrize("outage", ["refuses", "down"])
def test_token_endpoint_refusing_or_down_leaves_mail_queued_with_the_reason(
    outage, token_endpoint, make_provider_smtp, make_app, senders, certs
):
    server = make_provider_smtp(tokens=token_endpoint.valid)
    settings = microsoft_app_only(token_endpoint, certs)
    if outage == "refuses":
        token_endpoint.refuse = ("invalid_client", "AADSTS7000215: Invalid client secret.")
    else:
        settings["MAIL_OAUTH2_AUTHORITY"] = f"https://127.0.0.1:{free_port()}"
    app = xoauth2_app(make_app, server, settings)
    [row_id] = queue(app, "ada@example.com")
    senders(app)
    wait_for(lambda: held_back(app, row_id))
    row = stored(app, row_id)
    assert row.attempts == 0
    assert server.auth_log == []
    with app.app_context():
        hint = hints.for_delivery_error(
            None, row.last_error, SmtpSettings.from_config(app.config), MAILBOX
        )
    if outage == "refuses":
        assert "refused: invalid_client: AADSTS7000215" in row.last_error
        assert "MAIL_OAUTH2_CLIENT_SECRET" in hint
    else:
        assert row.last_error.endswith(": connection refused")
        assert "MAIL_OAUTH2_AUTHORITY" in hint


def test_no_token_or_secret_in_logs_or_pages(
    token_endpoint, make_provider_smtp, make_app, senders, certs, caplog
):
    debug_logging(caplog)
    server = make_provider_smtp(tokens=token_endpoint.valid)
    app = xoauth2_app(
        make_app, server, microsoft_app_only(token_endpoint, certs), MAIL_MAX_EMAILS=1
    )
    senders(app)
    ids = queue(app, "ada@example.com")
    wait_for(lambda: sent(app, ids))
    token_endpoint.expire_all()
    ids += queue(app, "bob@example.com")
    wait_for(lambda: sent(app, ids))
    client = admin_client(app)
    paths = ("/admin/mail", f"/admin/mail/outbox/{ids[0]}", "/admin/mail/outbox", "/healthz")
    pages = [client.get(path).get_data(as_text=True) for path in paths]
    pages.append(client.get("/healthz", headers={"Accept": "application/json"}).get_data(True))
    shown = "\n".join(pages) + our_log(caplog)
    for secret in secrets_of(token_endpoint):
        assert secret not in shown
