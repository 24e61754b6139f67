"""The connection doctor against real SMTP servers on loopback: each failure, its hint."""

import datetime
import logging

import pytest
import trustme

from app.mail.diagnostics import diagnose
from tests.conftest import base_config
from tests.smtp_server import free_port

PASSWORD = "Zq7-distinctive-s3cret!"
SENDER = "no-reply@mailroom.example"


def config_for(server=None, **overrides):
    port = server.port if server is not None else free_port()
    return base_config("sqlite://", MAIL_PORT=port, **overrides)


def starttls_auth(certs, **overrides):
    return {
        "MAIL_USE_TLS": True,
        "MAIL_USERNAME": "mailer",
        "MAIL_PASSWORD": PASSWORD,
        "MAIL_CA_FILE": certs.ca_path,
        **overrides,
    }


def keys(diagnosis):
    return [(step.key, step.ok) for step in diagnosis.steps]


def our_log(caplog) -> str:
    # "mail.log" is aiosmtpd, the test server: its wire dump is not Mailroom's log.
    return "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")


def everything_said(diagnosis) -> str:
    parts = []
    for step in diagnosis.steps:
        parts += [step.title, step.reply, step.hint, *step.details]
    return "\n".join(parts)


@pytest.fixture
def starttls_server(make_smtp, certs):
    return make_smtp(tls="starttls", cert=certs.trusted, auth=("mailer", PASSWORD))


def test_healthy_starttls_with_auth_passes_every_step(starttls_server, certs, caplog):
    caplog.set_level(logging.DEBUG)
    diagnosis = diagnose(config_for(starttls_server, **starttls_auth(certs)), "ada@example.com")
    assert diagnosis.ok, everything_said(diagnosis)
    assert keys(diagnosis) == [
        ("resolve", True),
        ("connect", True),
        ("greeting", True),
        ("ehlo", True),
        ("tls", True),
        ("ehlo", True),
        ("auth", True),
        ("mail_from", True),
        ("rcpt_to", True),
        ("rset", True),
        ("quit", True),
    ]
    steps = {step.key: step for step in diagnosis.steps}
    assert steps["greeting"].reply.startswith("220 mx.test.local")
    assert steps["tls"].title == "STARTTLS and TLS handshake"
    tls_details = "\n".join(steps["tls"].details)
    assert "TLSv1.3" in tls_details
    assert "Certificate verified against MAIL_CA_FILE" in tls_details
    assert "Issuer: O=trustme" in tls_details
    assert "Expires: Jan  1 00:00:00 3000 GMT" in tls_details
    ehlo_inside = diagnosis.steps[5]
    assert "AUTH: LOGIN PLAIN" in ehlo_inside.details
    assert steps["auth"].reply == "235 2.7.0 Authentication successful"
    assert steps["mail_from"].reply == "250 OK"
    assert not starttls_server.messages, "the doctor must send nothing"
    assert PASSWORD not in everything_said(diagnosis)
    assert PASSWORD not in our_log(caplog)


def test_nothing_listening_says_check_server_and_port():
    diagnosis = diagnose(config_for(None))
    step = diagnosis.failed_step
    assert step.key == "connect"
    assert step.reply == "connection refused"
    assert "Nothing is listening" in step.hint
    assert "MAIL_SERVER and MAIL_PORT" in step.hint
    assert [s.key for s in diagnosis.steps] == ["resolve", "connect"]


def test_silent_server_times_out(silent_smtp):
    diagnosis = diagnose(config_for(silent_smtp, MAIL_TIMEOUT=0.3))
    step = diagnosis.failed_step
    assert step.key == "greeting"
    assert "did not answer within MAIL_TIMEOUT (0.3 s)" in step.hint


def test_starttls_configured_against_implicit_tls_names_mail_use_ssl(make_smtp, certs):
    server = make_smtp(tls="implicit", cert=certs.trusted)
    diagnosis = diagnose(config_for(server, MAIL_USE_TLS=True, MAIL_CA_FILE=certs.ca_path))
    step = diagnosis.failed_step
    assert step.key == "greeting"
    assert "implicit TLS" in step.hint
    assert "Set MAIL_USE_SSL=true and MAIL_USE_TLS=false" in step.hint


def test_implicit_tls_configured_against_starttls_port_names_mail_use_tls(make_smtp, certs):
    server = make_smtp(tls="starttls", cert=certs.trusted)
    diagnosis = diagnose(config_for(server, MAIL_USE_SSL=True, MAIL_CA_FILE=certs.ca_path))
    step = diagnosis.failed_step
    assert step.key == "tls"
    assert "WRONG_VERSION_NUMBER" in step.reply
    assert "answered in plain text" in step.hint
    assert "Set MAIL_USE_SSL=false and MAIL_USE_TLS=true" in step.hint


def test_implicit_tls_with_a_trusted_certificate_passes(make_smtp, certs):
    server = make_smtp(tls="implicit", cert=certs.trusted)
    diagnosis = diagnose(config_for(server, MAIL_USE_SSL=True, MAIL_CA_FILE=certs.ca_path))
    assert diagnosis.ok, everything_said(diagnosis)
    assert diagnosis.security == "implicit TLS"
    assert [s.key for s in diagnosis.steps][:4] == ["resolve", "connect", "tls", "greeting"]


def test_untrusted_certificate_points_at_mail_ca_file(make_smtp, certs):
    server = make_smtp(tls="starttls", cert=certs.untrusted, auth=("mailer", PASSWORD))
    diagnosis = diagnose(config_for(server, **starttls_auth(certs)))
    step = diagnosis.failed_step
    assert step.key == "tls"
    assert "unable to get local issuer certificate" in step.reply
    assert "not signed by an authority this machine trusts" in step.hint
    assert "MAIL_CA_FILE" in step.hint
    assert server.auth_attempts == [], "no password goes to an unverified server"


def test_unverified_tls_is_said_out_loud(make_smtp, certs):
    server = make_smtp(tls="starttls", cert=certs.untrusted)
    diagnosis = diagnose(config_for(server, MAIL_USE_TLS=True, MAIL_TLS_VERIFY=False))
    assert diagnosis.ok, everything_said(diagnosis)
    tls = next(s for s in diagnosis.steps if s.key == "tls")
    assert "Certificate NOT verified (MAIL_TLS_VERIFY=false)" in tls.details


def test_rejected_credentials_suggest_an_app_password_or_xoauth2(starttls_server, certs, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-" + PASSWORD
    diagnosis = diagnose(config_for(starttls_server, **starttls_auth(certs, MAIL_PASSWORD=wrong)))
    step = diagnosis.failed_step
    assert step.key == "auth"
    assert step.reply.startswith("535")
    assert "MAIL_USERNAME" in step.hint and "MAIL_PASSWORD" in step.hint
    assert "Google wants an app password" in step.hint
    assert "Microsoft 365 wants MAIL_AUTH=xoauth2" in step.hint
    assert set(starttls_server.auth_attempts) == {"refused"}
    assert wrong not in everything_said(diagnosis)
    assert wrong not in our_log(caplog)


def test_auth_offered_only_after_starttls(starttls_server, certs):
    config = config_for(starttls_server, **starttls_auth(certs, MAIL_USE_TLS=False))
    diagnosis = diagnose(config)
    step = diagnosis.failed_step
    assert step.key == "auth"
    assert "only after STARTTLS" in step.hint
    assert "Set MAIL_USE_TLS=true" in step.hint
    ehlo = next(s for s in diagnosis.steps if s.key == "ehlo")
    assert "STARTTLS: offered" in ehlo.details
    assert "AUTH: not offered" in ehlo.details


def test_server_requiring_auth_gets_530_hint(starttls_server, certs):
    config = config_for(starttls_server, MAIL_USE_TLS=True, MAIL_CA_FILE=certs.ca_path)
    diagnosis = diagnose(config)
    step = diagnosis.failed_step
    assert step.key == "mail_from"
    assert step.reply.startswith("530")
    assert "requires authentication" in step.hint
    assert "MAIL_USERNAME and MAIL_PASSWORD" in step.hint


def test_refused_sender_names_mail_default_sender(starttls_server, certs):
    starttls_server.handler.refuse_senders.add(SENDER)
    diagnosis = diagnose(config_for(starttls_server, **starttls_auth(certs)))
    step = diagnosis.failed_step
    assert step.key == "mail_from"
    assert step.reply.startswith("553 5.7.1")
    assert "may not send as MAIL_DEFAULT_SENDER" in step.hint
    assert SENDER in step.hint


def test_refused_recipient_is_reported_and_masked_in_the_log(starttls_server, certs, caplog):
    caplog.set_level(logging.INFO)
    starttls_server.handler.rcpt_faults.append("550 5.1.1 <Nobody@example.com>: No such user")
    diagnosis = diagnose(config_for(starttls_server, **starttls_auth(certs)), "nobody@example.com")
    step = diagnosis.failed_step
    assert step.key == "rcpt_to"
    assert step.reply == "550 5.1.1 <Nobody@example.com>: No such user"
    assert "refused the recipient" in step.hint
    assert "failed at rcpt_to: 550 5.1.1 <n***@example.com>: No such user" in our_log(caplog)
    assert "nobody@example.com" not in our_log(caplog).lower()


def test_unknown_host_name_is_a_dns_hint():
    diagnosis = diagnose(config_for(None, MAIL_SERVER="mail.invalid"))
    step = diagnosis.failed_step
    assert step.key == "resolve"
    assert "could not be resolved" in step.hint


def test_cli_check_prints_every_step_and_never_the_password(make_app, starttls_server, certs):
    app = make_app(MAIL_PORT=starttls_server.port, **starttls_auth(certs))
    result = app.test_cli_runner().invoke(args=["mail", "check", "--rcpt", "ada@example.com"])
    assert result.exit_code == 0, result.output
    assert "security STARTTLS, certificate verification on" in result.output
    assert "username mailer, password set" in result.output
    assert "235 2.7.0 Authentication successful" in result.output
    assert "RCPT TO:<ada@example.com>" in result.output
    assert "Every step passed" in result.output
    assert PASSWORD not in result.output
    assert not starttls_server.messages


def test_cli_check_fails_with_the_hint_and_no_password(make_app, starttls_server, certs, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app(
        MAIL_PORT=starttls_server.port, **starttls_auth(certs, MAIL_PASSWORD="x" + PASSWORD)
    )
    result = app.test_cli_runner().invoke(args=["mail", "check"])
    assert result.exit_code == 1
    assert "FAILED AUTH" in result.output
    assert "hint: The server refused the login (535 5.7.8: wrong user name or password)" in (
        result.output
    )
    assert PASSWORD not in result.output
    assert PASSWORD not in our_log(caplog)


def test_non_ascii_recipient_needs_smtputf8(make_smtp):
    plain = make_smtp()
    diagnosis = diagnose(config_for(plain), "mıke@example.org")
    step = diagnosis.failed_step
    assert step.key == "mail_from"
    assert "does not offer SMTPUTF8" in step.hint
    utf8 = make_smtp(smtputf8=True)
    diagnosis = diagnose(config_for(utf8), "mıke@example.org")
    assert diagnosis.ok, everything_said(diagnosis)


@pytest.fixture(scope="module")
def odd_certs(tmp_path_factory):
    """Certificates from a CA the client trusts that must still fail: another name, expired."""
    ca = trustme.CA()
    ca_path = str(tmp_path_factory.mktemp("odd-certs") / "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    now = datetime.datetime.now(datetime.UTC)

    class Odd:
        wrong_name = ca.issue_cert("mx.elsewhere.test")
        expired = ca.issue_cert(
            "127.0.0.1",
            "localhost",
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        )

    Odd.ca_path = ca_path
    return Odd


def test_certificate_for_another_name_says_so(make_smtp, odd_certs):
    server = make_smtp(tls="starttls", cert=odd_certs.wrong_name, auth=("mailer", PASSWORD))
    config = config_for(server, **starttls_auth(odd_certs))
    step = diagnose(config).failed_step
    assert step.key == "tls"
    assert "certificate is for another name" in step.hint
    assert server.auth_attempts == []


def test_expired_certificate_says_so(make_smtp, odd_certs):
    server = make_smtp(tls="implicit", cert=odd_certs.expired, auth=("mailer", PASSWORD))
    config = config_for(server, **starttls_auth(odd_certs, MAIL_USE_TLS=False, MAIL_USE_SSL=True))
    step = diagnose(config).failed_step
    assert step.key == "tls"
    assert "certificate has expired" in step.hint
    assert server.auth_attempts == []
