"""The OAuth2 token source against the tests' own HTTPS token endpoint: each grant, one request
per renewal however many threads ask, renewal before expiry, and failures worded without
a secret."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import trustme

from app import clock
from app.mail.oauth2 import OAuth2Settings, TokenError, TokenSource
from tests import provider_helpers
from tests.oauth_server import REFRESH_TOKEN, TokenEndpoint
from tests.provider_helpers import (
    debug_logging,
    google_refresh,
    microsoft_app_only,
    microsoft_delegated,
    our_log,
    secrets_of,
)
from tests.smtp_server import free_port

token_endpoint = provider_helpers.token_endpoint

TIMEOUT = {"MAIL_TIMEOUT": 2.0}


def source_for(settings: dict) -> TokenSource:
    return TokenSource(OAuth2Settings.from_config({**TIMEOUT, **settings}))


def move_clock(monkeypatch, by: timedelta) -> None:
    now = clock.utcnow() + by
    monkeypatch.setattr(clock, "utcnow", lambda: now)


@pytest.mark.parametrize("grant", [microsoft_app_only, microsoft_delegated, google_refresh])
def test_each_grant_gets_a_token_the_endpoint_issued(grant, token_endpoint, certs):
    token = source_for(grant(token_endpoint, certs)).current()
    assert token_endpoint.valid(token.value)
    assert token.expires_at - token.obtained_at == timedelta(hours=1)
    [request] = token_endpoint.requests
    expected = "client_credentials" if grant is microsoft_app_only else "refresh_token"
    assert request.grant_type == expected


def test_app_only_asks_for_the_outlook_default_scope(token_endpoint, certs):
    source_for(microsoft_app_only(token_endpoint, certs)).current()
    assert token_endpoint.requests[0].form["scope"] == "https://outlook.office365.com/.default"
    assert token_endpoint.requests[0].path == "/contoso-tenant/oauth2/v2.0/token"


def test_app_only_with_a_certificate_signs_a_client_assertion(certs, tmp_path):
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    app_cert = ca.issue_cert("mailroom-app.contoso.example", key_type=trustme.KeyType.RSA)
    pem = tmp_path / "app.pem"
    pem.write_bytes(app_cert.private_key_pem.bytes() + app_cert.cert_chain_pems[0].bytes())
    endpoint = TokenEndpoint(certs.trusted, certificate_pem=app_cert.cert_chain_pems[0].bytes())
    try:
        settings = microsoft_app_only(endpoint, certs, MAIL_OAUTH2_CLIENT_CERTIFICATE=str(pem))
        settings.pop("MAIL_OAUTH2_CLIENT_SECRET")
        token = source_for(settings).current()
        assert endpoint.valid(token.value)
        assert "client_assertion" in endpoint.requests[0].form
        assert "client_secret" not in endpoint.requests[0].form
    finally:
        endpoint.stop()


def test_many_threads_share_one_token_request(token_endpoint, certs):
    source = source_for(microsoft_app_only(token_endpoint, certs))
    token_endpoint.delay = 0.2  # every thread arrives while the first request is out
    barrier, tokens = threading.Barrier(8), []

    def ask():
        barrier.wait()
        tokens.append(source.current())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tokens) == 8
    assert len({t.value for t in tokens}) == 1
    assert token_endpoint.token_requests() == 1


def test_token_is_renewed_five_minutes_before_it_expires(token_endpoint, certs, monkeypatch):
    source = source_for(microsoft_app_only(token_endpoint, certs))
    first = source.current()
    move_clock(monkeypatch, timedelta(minutes=54))
    assert source.current() is first
    assert token_endpoint.token_requests() == 1
    move_clock(monkeypatch, timedelta(minutes=2))  # 56 minutes in: 4 left
    second = source.current()
    assert second.value != first.value
    assert token_endpoint.token_requests() == 2
    assert token_endpoint.valid(first.value), "renewed while the old one still worked"


def test_a_refused_token_is_renewed_once_however_many_threads_saw_it(token_endpoint, certs):
    source = source_for(microsoft_app_only(token_endpoint, certs))
    refused = source.current()
    barrier, renewed = threading.Barrier(4), []

    def renew():
        barrier.wait()
        renewed.append(source.renew(refused))

    threads = [threading.Thread(target=renew) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({t.value for t in renewed}) == 1
    assert renewed[0].value != refused.value
    assert token_endpoint.token_requests() == 2


def test_delegated_microsoft_uses_the_rotated_refresh_token_next(token_endpoint, certs):
    source = source_for(microsoft_delegated(token_endpoint, certs))
    source.renew(source.current())
    first, second = token_endpoint.requests
    assert first.form["refresh_token"] == REFRESH_TOKEN
    assert second.form["refresh_token"].startswith("rotated-")


def test_refused_client_secret_is_reported_without_the_secret(token_endpoint, certs, caplog):
    debug_logging(caplog)
    wrong = "Wr0ng~secret-value"
    settings = microsoft_app_only(token_endpoint, certs, MAIL_OAUTH2_CLIENT_SECRET=wrong)
    with pytest.raises(TokenError) as failure:
        source_for(settings).current()
    assert failure.value.kind == "refused"
    assert failure.value.error == "invalid_client"
    assert "AADSTS7000215: Invalid client secret provided." in failure.value.reason
    assert f"127.0.0.1:{token_endpoint.port}" in failure.value.reason
    assert wrong not in failure.value.reason
    assert wrong not in our_log(caplog)


def test_expired_refresh_token_is_an_invalid_grant(token_endpoint, certs):
    settings = google_refresh(token_endpoint, certs, MAIL_OAUTH2_REFRESH_TOKEN="1//revoked")
    with pytest.raises(TokenError) as failure:
        source_for(settings).current()
    assert failure.value.error == "invalid_grant"
    assert "1//revoked" not in failure.value.reason


def test_endpoint_down_is_unreachable(certs):
    dead = f"https://127.0.0.1:{free_port()}"
    settings = microsoft_app_only(type("E", (), {"authority": dead})(), certs)
    with pytest.raises(TokenError) as failure:
        source_for(settings).current()
    assert failure.value.kind == "unreachable"
    assert failure.value.reason.endswith(": connection refused")


def test_slow_endpoint_times_out_after_mail_timeout(token_endpoint, certs):
    token_endpoint.delay = 1.5
    settings = google_refresh(token_endpoint, certs, MAIL_TIMEOUT=0.3)
    with pytest.raises(TokenError) as failure:
        TokenSource(OAuth2Settings.from_config(settings)).current()
    assert failure.value.reason.endswith("no answer within 0.3 s")


def test_endpoint_with_an_untrusted_certificate_is_refused(certs):
    endpoint = TokenEndpoint(certs.untrusted)
    try:
        with pytest.raises(TokenError) as failure:
            source_for(google_refresh(endpoint, certs)).current()
        assert failure.value.kind == "certificate"
        assert endpoint.token_requests() == 0
    finally:
        endpoint.stop()


def test_nothing_secret_is_logged_while_getting_tokens(token_endpoint, certs, caplog):
    debug_logging(caplog)
    for grant in (microsoft_app_only, microsoft_delegated, google_refresh):
        source = source_for(grant(token_endpoint, certs))
        source.renew(source.current())
    logged = our_log(caplog)
    assert token_endpoint.token_requests() == 6
    for secret in secrets_of(token_endpoint):
        assert secret not in logged
