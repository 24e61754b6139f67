"""The hint an admin reads for a delivery failure, from its class or else from its reason."""

import pytest

from app.mail import hints
from app.mail.transport import SmtpSettings

SETTINGS = SmtpSettings(
    server="smtp.example.com",
    port=587,
    use_tls=True,
    use_ssl=False,
    username="mailer",
    password="Zq7-distinctive-s3cret!",
    timeout=30.0,
    tls_verify=True,
    ca_file=None,
    max_emails=None,
)


@pytest.mark.parametrize(
    "error_class, reason, expected",
    [
        ("refused", None, "Nothing is listening at smtp.example.com:587"),
        ("timeout", None, "did not answer within MAIL_TIMEOUT (30 s)"),
        ("certificate", None, "MAIL_CA_FILE"),
        ("auth", None, "app password"),
        ("smtp-4xx", "451 4.3.0 busy (at DATA)", "temporary error"),
        (None, "connection refused: nothing is listening there", "Nothing is listening"),
        (None, "certificate not trusted: unable to get local issuer", "MAIL_CA_FILE"),
        (None, "authentication refused: 535 5.7.8 bad credentials", "app password"),
        (None, "553 5.7.1 not owned by user (at MAIL FROM)", "MAIL_DEFAULT_SENDER"),
        (None, "550 5.1.1 User unknown (at RCPT TO)", "refused the recipient"),
        (None, "gave up after 10 attempts: 421 4.3.2 try later (at DATA)", "temporary error"),
    ],
)
def test_delivery_failures_get_a_hint_in_plain_words(error_class, reason, expected):
    hint = hints.for_delivery_error(error_class, reason, SETTINGS, "no-reply@example.com")
    assert expected in hint
    assert SETTINGS.password not in hint


def test_an_unrecognised_failure_gets_no_made_up_hint():
    assert hints.for_delivery_error(None, "something odd", SETTINGS) == ""
    assert hints.for_delivery_error(None, None, SETTINGS) == ""
