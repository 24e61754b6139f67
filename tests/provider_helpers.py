"""Fixtures and settings for the provider tests: the tests' OAuth2 token endpoint, provider-like
SMTP servers, and the MAIL_AUTH=xoauth2 settings that point Mailroom at them."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import base_config
from tests.oauth_server import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, TENANT, TokenEndpoint
from tests.provider_smtp import ProviderSmtp

MAILBOX = "mailer@contoso.example"
SENDER = f"Mailroom <{MAILBOX}>"


@pytest.fixture
def token_endpoint(certs):
    endpoint = TokenEndpoint(certs.trusted)
    yield endpoint
    endpoint.stop()


@pytest.fixture
def make_provider_smtp():
    servers = []

    def factory(**kwargs) -> ProviderSmtp:
        server = ProviderSmtp(**kwargs)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


def microsoft_app_only(endpoint, certs, **overrides) -> dict:
    """Microsoft 365 app-only: tenant, client id and secret (client credentials)."""
    return {
        "MAIL_AUTH": "xoauth2",
        "MAIL_USERNAME": MAILBOX,
        "MAIL_DEFAULT_SENDER": SENDER,
        "MAIL_OAUTH2_PROVIDER": "microsoft",
        "MAIL_OAUTH2_TENANT": TENANT,
        "MAIL_OAUTH2_AUTHORITY": endpoint.authority,
        "MAIL_OAUTH2_CLIENT_ID": CLIENT_ID,
        "MAIL_OAUTH2_CLIENT_SECRET": CLIENT_SECRET,
        "MAIL_OAUTH2_CA_FILE": certs.ca_path,
        **overrides,
    }


def microsoft_delegated(endpoint, certs, **overrides) -> dict:
    """Microsoft 365 delegated: a public client renewing a user's refresh token."""
    settings = microsoft_app_only(endpoint, certs, MAIL_OAUTH2_REFRESH_TOKEN=REFRESH_TOKEN)
    settings.pop("MAIL_OAUTH2_CLIENT_SECRET")
    return {**settings, **overrides}


def google_refresh(endpoint, certs, **overrides) -> dict:
    return {
        "MAIL_AUTH": "xoauth2",
        "MAIL_USERNAME": MAILBOX,
        "MAIL_DEFAULT_SENDER": SENDER,
        "MAIL_OAUTH2_PROVIDER": "google",
        "MAIL_OAUTH2_TOKEN_URL": endpoint.google_token_url,
        "MAIL_OAUTH2_CLIENT_ID": CLIENT_ID,
        "MAIL_OAUTH2_CLIENT_SECRET": CLIENT_SECRET,
        "MAIL_OAUTH2_REFRESH_TOKEN": REFRESH_TOKEN,
        "MAIL_OAUTH2_CA_FILE": certs.ca_path,
        **overrides,
    }


def config_for(server, settings: dict, **overrides) -> dict:
    """A plain config dict (no app) for the doctor, pointed at `server`."""
    return base_config("sqlite://", MAIL_PORT=server.port, **settings, **overrides)


def secrets_of(endpoint) -> list[str]:
    """What must never be shown or logged: the client secret, the refresh tokens, and every
    access token the endpoint issued."""
    return [CLIENT_SECRET, REFRESH_TOKEN, *endpoint.issued, *endpoint.refresh_tokens]


def our_log(caplog) -> str:
    # "mail.log" is aiosmtpd, the test server: its wire dump is not Mailroom's log.
    return "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")


def everything_said(diagnosis) -> str:
    parts = []
    for step in diagnosis.steps:
        parts += [step.title, step.reply, step.hint, *step.details]
    return "\n".join(parts)


def debug_logging(caplog) -> None:
    caplog.set_level(logging.DEBUG)
