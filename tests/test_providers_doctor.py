"""The connection doctor with providers' sign-in: the OAuth2 token step (never the token), and
the replies Microsoft 365, Google and Postfix give, each with a hint naming the setting."""

from __future__ import annotations

import pytest

from app.mail.diagnostics import diagnose
from tests import provider_helpers
from tests.oauth_server import CLIENT_SECRET, TokenEndpoint
from tests.provider_helpers import (
    MAILBOX,
    config_for,
    debug_logging,
    everything_said,
    google_refresh,
    microsoft_app_only,
    our_log,
    secrets_of,
)
from tests.smtp_server import free_port

token_endpoint = provider_helpers.token_endpoint
make_provider_smtp = provider_helpers.make_provider_smtp

PASSWORD = "Zq7-distinctive-s3cret!"
PASSWORD_LOGIN = {"MAIL_USERNAME": MAILBOX, "MAIL_PASSWORD": PASSWORD}


def steps(diagnosis) -> dict:
    return {step.key: step for step in diagnosis.steps}


def test_xoauth2_check_shows_the_token_step_and_never_the_token(
    token_endpoint, make_provider_smtp, certs, caplog
):
    debug_logging(caplog)
    server = make_provider_smtp(tokens=token_endpoint.valid)
    diagnosis = diagnose(config_for(server, microsoft_app_only(token_endpoint, certs)))
    assert diagnosis.ok, everything_said(diagnosis)
    assert [s.key for s in diagnosis.steps] == [
        "resolve",
        "connect",
        "greeting",
        "ehlo",
        "token",
        "auth",
        "mail_from",
        "rcpt_to",
        "rset",
        "quit",
    ]
    token, auth = steps(diagnosis)["token"], steps(diagnosis)["auth"]
    assert token.title == "OAuth2 access token"
    assert token.details[0] == (
        f"Token endpoint 127.0.0.1:{token_endpoint.port} answered "
        "(Microsoft identity, client credentials)"
    )
    assert token.details[1] == (
        f"Token obtained for {MAILBOX}: audience https://outlook.office365.com"
    )
    assert "(in 59 min)" in token.details[2] or "(in 60 min)" in token.details[2]
    assert auth.title == "AUTH XOAUTH2"
    assert auth.reply == "235 2.7.0 Authentication successful"
    assert server.auth_log == [("XOAUTH2", MAILBOX, True)]
    said, logged = everything_said(diagnosis), our_log(caplog)
    for secret in secrets_of(token_endpoint):
        assert secret not in said
        assert secret not in logged


def test_rcpt_to_is_tried_with_the_senders_own_address_when_none_is_given(
    token_endpoint, make_provider_smtp, certs
):
    server = make_provider_smtp(tokens=token_endpoint.valid)
    diagnosis = diagnose(config_for(server, google_refresh(token_endpoint, certs)))
    assert diagnosis.ok, everything_said(diagnosis)
    assert steps(diagnosis)["rcpt_to"].title == f"RCPT TO:<{MAILBOX}> (the sender's own address)"
    assert steps(diagnosis)["token"].details[0].endswith("(Google, refresh token)")


def test_google_token_refusal_shows_the_servers_error_and_the_hint(
    token_endpoint, make_provider_smtp, certs
):
    server = make_provider_smtp(tokens=lambda token: False, style="google")
    diagnosis = diagnose(config_for(server, google_refresh(token_endpoint, certs)))
    step = diagnosis.failed_step
    assert step.key == "auth"
    assert step.reply.startswith("535 5.7.8 Username and Password not accepted")
    assert step.details == ["The server's error: status 401, scope https://mail.google.com/"]
    assert f"The server refused the OAuth2 token for {MAILBOX} (535 5.7.8)" in step.hint
    assert "scope https://mail.google.com/" in step.hint


def test_microsoft_token_refusal_names_the_mailbox_permission(
    token_endpoint, make_provider_smtp, certs
):
    server = make_provider_smtp(tokens=lambda token: False)
    diagnosis = diagnose(config_for(server, microsoft_app_only(token_endpoint, certs)))
    step = diagnosis.failed_step
    assert step.reply == "535 5.7.3 Authentication unsuccessful"
    assert "SMTP.SendAsApp" in step.hint and "Add-MailboxPermission" in step.hint


def test_refusing_token_endpoint_fails_at_the_token_step(token_endpoint, make_provider_smtp, certs):
    server = make_provider_smtp(tokens=token_endpoint.valid)
    token_endpoint.refuse = ("invalid_client", "AADSTS7000215: Invalid client secret provided.")
    diagnosis = diagnose(config_for(server, microsoft_app_only(token_endpoint, certs)))
    step = diagnosis.failed_step
    assert step.key == "token"
    assert step.reply == (
        f"OAuth2 token endpoint 127.0.0.1:{token_endpoint.port} refused: invalid_client: "
        "AADSTS7000215: Invalid client secret provided."
    )
    assert "MAIL_OAUTH2_CLIENT_SECRET" in step.hint
    assert server.auth_log == []
    assert CLIENT_SECRET not in everything_said(diagnosis)


def test_unreachable_token_endpoint_names_the_authority_setting(make_provider_smtp, certs):
    server = make_provider_smtp(tokens=lambda token: True)
    down = type("Down", (), {"authority": f"https://127.0.0.1:{free_port()}"})()
    diagnosis = diagnose(config_for(server, microsoft_app_only(down, certs)))
    step = diagnosis.failed_step
    assert step.key == "token"
    assert step.reply.endswith(": connection refused")
    assert "could not be reached" in step.hint and "MAIL_OAUTH2_AUTHORITY" in step.hint


def test_untrusted_token_endpoint_names_its_ca_setting(make_provider_smtp, certs):
    server = make_provider_smtp(tokens=lambda token: True)
    endpoint = TokenEndpoint(certs.untrusted)
    try:
        diagnosis = diagnose(config_for(server, google_refresh(endpoint, certs)))
    finally:
        endpoint.stop()
    assert diagnosis.failed_step.key == "token"
    assert "MAIL_OAUTH2_CA_FILE" in diagnosis.failed_step.hint


def test_server_without_xoauth2_says_which_servers_offer_it(token_endpoint, make_smtp, certs):
    server = make_smtp(auth=("mailer", PASSWORD))
    diagnosis = diagnose(config_for(server, microsoft_app_only(token_endpoint, certs)))
    step = diagnosis.failed_step
    assert step.key == "auth"
    assert step.reply == "AUTH offers LOGIN PLAIN"
    assert "does not offer AUTH XOAUTH2" in step.hint and "smtp.office365.com" in step.hint


# (server options, failing step, words of the hint): the replies the issue lists, as the
# providers give them.
PROVIDER_REPLIES = {
    "Microsoft 365 refuses passwords": (
        {"auth_reply": "550 5.7.30 Basic authentication is not supported for Client Submission"},
        "auth",
        ["MAIL_AUTH=xoauth2", "MAIL_OAUTH2_TENANT", "end of December 2026"],
    ),
    "SMTP AUTH disabled for the tenant": (
        {
            "auth_reply": "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
            "is disabled for the Tenant."
        },
        "auth",
        ["Set-CASMailbox -Identity mailer@contoso.example -SmtpClientAuthenticationDisabled"],
    ),
    "Google wants an app password": (
        {"auth_reply": "534 5.7.9 Application-specific password required."},
        "auth",
        ["MAIL_PASSWORD to an app password", "2-Step", "MAIL_AUTH=xoauth2"],
    ),
    "wrong credentials": (
        {"password": (MAILBOX, "another-password")},
        "auth",
        ["535 5.7.8", "Check MAIL_USERNAME", "MAIL_PASSWORD"],
    ),
    "client not authenticated": (
        {"mail_reply": "530 5.7.57 Client not authenticated to send mail. [AM0PR01CA0001]"},
        "mail_from",
        ["530 5.7.57", "MAIL_USE_TLS=true"],
    ),
    "From not allowed (5.7.60)": (
        {"mail_reply": "550 5.7.60 SMTP; Client does not have permissions to send as this sender"},
        "mail_from",
        ["may not send as MAIL_DEFAULT_SENDER", "Add-RecipientPermission"],
    ),
    "SendAsDenied": (
        {
            "rcpt_reply": f"554 5.2.252 SendAsDenied; {MAILBOX} not allowed to send as "
            "other@contoso.example; STOREDRV.Submission.Exception:SendAsDeniedException"
        },
        "rcpt_to",
        ["may not send as MAIL_DEFAULT_SENDER", "(554 5.2.252)"],
    ),
    "Postfix sender login mismatch": (
        {
            "rcpt_reply": "553 5.7.1 <other@example.com>: Sender address rejected: not owned "
            f"by user {MAILBOX}"
        },
        "rcpt_to",
        ["may not send as MAIL_DEFAULT_SENDER", "smtpd_sender_login_maps", "stay queued"],
    ),
    "relay denied": (
        {"rcpt_reply": "550 5.7.1 Relaying denied"},
        "rcpt_to",
        ["does not relay for this client", "MAIL_USERNAME"],
    ),
}


@pytest.mark.parametrize("case", list(PROVIDER_REPLIES))
def test_each_provider_reply_gets_its_hint(case, make_provider_smtp, caplog):
    debug_logging(caplog)
    options, failing, words = PROVIDER_REPLIES[case]
    server = make_provider_smtp(**{"password": (MAILBOX, PASSWORD), **options})
    diagnosis = diagnose(config_for(server, PASSWORD_LOGIN, MAIL_DEFAULT_SENDER=MAILBOX))
    step = diagnosis.failed_step
    assert step is not None, everything_said(diagnosis)
    assert step.key == failing
    for word in words:
        assert word in step.hint or word in step.reply, (word, step.hint)
    assert PASSWORD not in everything_said(diagnosis)
    assert PASSWORD not in our_log(caplog)
