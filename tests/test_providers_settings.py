"""The provider settings at start-up (MAIL_AUTH, the OAuth2 and fallback relay settings, read
typed and checked, every problem named at once) and the Date header senders put on the wire."""

from __future__ import annotations

import pytest

import config as settings
from app.extensions import db
from app.mail import send_email
from tests.conftest import wait_for

GOOD_KEY = "9f2c4e7a1b8d3f6e0a5c2b9d4e7f1a3c"
PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": GOOD_KEY,
    "APP_BASE_URL": "https://mail.example.com",
    "MAIL_SERVER": "smtp.office365.com",
    "MAIL_PORT": "587",
    "MAIL_USE_TLS": "true",
    "MAIL_DEFAULT_SENDER": "Mailroom <mailer@contoso.example>",
}


def problems_with(**environ) -> list[str]:
    config, problems = settings.load_environment({**PRODUCTION, **environ})
    return problems + settings.check(config)[0]


def test_xoauth2_for_microsoft_365_app_only_starts():
    assert (
        problems_with(
            MAIL_AUTH="XOAUTH2",
            MAIL_USERNAME="mailer@contoso.example",
            MAIL_OAUTH2_TENANT="0d7c2b5e-tenant",
            MAIL_OAUTH2_CLIENT_ID="11111111-2222",
            MAIL_OAUTH2_CLIENT_SECRET="Sx8Q~secret",
        )
        == []
    )


def test_xoauth2_without_its_settings_names_every_missing_one():
    problems = "\n".join(problems_with(MAIL_AUTH="xoauth2"))
    assert "MAIL_USERNAME" in problems
    assert "MAIL_OAUTH2_CLIENT_ID" in problems
    assert "MAIL_OAUTH2_TENANT" in problems
    assert "MAIL_OAUTH2_CLIENT_SECRET or MAIL_OAUTH2_CLIENT_CERTIFICATE" in problems


def test_google_needs_a_refresh_token_and_the_provider_is_guessed_from_the_server():
    problems = problems_with(
        MAIL_SERVER="smtp.gmail.com",
        MAIL_AUTH="xoauth2",
        MAIL_USERNAME="mailer@example.com",
        MAIL_OAUTH2_CLIENT_ID="client.apps.googleusercontent.com",
    )
    assert problems == [
        "Google XOAUTH2 needs MAIL_OAUTH2_CLIENT_SECRET and MAIL_OAUTH2_REFRESH_TOKEN"
    ]


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"MAIL_AUTH": "oauth"}, "MAIL_AUTH='oauth' must be one of password, xoauth2"),
        (
            {"MAIL_AUTH": "xoauth2", "MAIL_OAUTH2_PROVIDER": "yahoo"},
            "MAIL_OAUTH2_PROVIDER (microsoft or google), not 'yahoo'",
        ),
        (
            {"MAIL_AUTH": "xoauth2", "MAIL_OAUTH2_TOKEN_URL": "http://tokens.example/token"},
            "MAIL_OAUTH2_TOKEN_URL='http://tokens.example/token' must be https",
        ),
        (
            {"MAIL_FALLBACK_SERVER": "relay.example", "MAIL_FALLBACK_USE_TLS": "yes"}
            | {"MAIL_FALLBACK_USE_SSL": "on"},
            "MAIL_FALLBACK_USE_TLS and MAIL_FALLBACK_USE_SSL are both on",
        ),
        (
            {"MAIL_FALLBACK_SERVER": "relay.example", "MAIL_FALLBACK_PASSWORD": "pw"},
            "MAIL_FALLBACK_USERNAME/PASSWORD would be sent unencrypted to relay.example",
        ),
        ({"MAIL_FALLBACK_PORT": "port"}, "MAIL_FALLBACK_PORT='port' is not a int"),
    ],
)
def test_a_wrong_provider_setting_is_named(environ, words):
    assert any(words in problem for problem in problems_with(**environ)), problems_with(**environ)


def test_fallback_settings_are_typed():
    config, _ = settings.load_environment(
        {"MAIL_FALLBACK_SERVER": "relay.example", "MAIL_FALLBACK_PORT": "2525"}
        | {"MAIL_FALLBACK_USE_TLS": "false"}
    )
    assert config["MAIL_FALLBACK_PORT"] == 2525
    assert config["MAIL_FALLBACK_USE_TLS"] is False
    assert config["MAIL_AUTH"] == "password"


def test_date_header_on_the_wire_ends_in_plus_0000(app, smtp, senders):
    with app.app_context():
        send_email("ada@example.com", "test_email")
        db.session.commit()
    senders(app)
    got = wait_for(lambda: smtp.messages)[0]
    date = got.message["Date"]
    assert str(date).endswith(" +0000"), date
    assert date.datetime.utcoffset().total_seconds() == 0
