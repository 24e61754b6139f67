"""Amazon SES through SNS: the signature checked with the certificate SNS names (served on
loopback here, allowed by a testing-only setting), and refused when missing, wrong, stale,
replayed, from another topic or from a certificate host that is not SNS's."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app import create_app
from app.webhooks import sns
from tests.conftest import base_config
from tests.outbox_helpers import queue, stored
from tests.webhook_helpers import (
    TOPIC,
    SnsStandIn,
    history_of,
    now_utc,
    ses_notification,
    sns_envelope,
    suppression_of,
)

URL = "/webhooks/ses"


@pytest.fixture
def stand_in():
    server = SnsStandIn()
    yield server
    server.stop()


@pytest.fixture
def ses_app(make_app, smtp, stand_in):
    return make_app(
        MAIL_PORT=smtp.port,
        SES_SNS_TOPIC_ARNS=[TOPIC],
        WEBHOOK_SNS_TEST_CERT_HOSTS=[stand_in.host],
    )


def post(app, message: dict):
    return app.test_client().post(
        URL, data=json.dumps(message), headers={"x-amz-sns-message-type": message.get("Type", "")}
    )


def test_a_signed_complaint_suppresses_the_address_matched_by_message_id(ses_app, stand_in):
    [row_id] = queue(ses_app, "ada@example.com")
    message_id = stored(ses_app, row_id).message_id
    notification = ses_notification("Complaint", "ada@example.com", message_id)
    answer = post(ses_app, stand_in.sign(sns_envelope(notification)))
    assert answer.status_code == 200, answer.text
    assert suppression_of(ses_app, "ada@example.com") == (True, "complaint", "ses", 0)
    assert history_of(ses_app, "ada@example.com") == [("complaint", "ses", row_id)]
    [later] = queue(ses_app, "ada@example.com")
    assert stored(ses_app, later).status == "suppressed"


def test_signature_version_1_is_checked_too(ses_app, stand_in):
    message = stand_in.sign(sns_envelope(ses_notification("Bounce", "b@example.com")), "1")
    assert post(ses_app, message).status_code == 200
    assert suppression_of(ses_app, "b@example.com")[:2] == (True, "bounce")


def test_a_transient_bounce_is_only_counted(ses_app, stand_in):
    notification = ses_notification("Bounce", "full@example.com", bounce_type="Transient")
    assert post(ses_app, stand_in.sign(sns_envelope(notification))).status_code == 200
    assert suppression_of(ses_app, "full@example.com") == (False, None, None, 1)
    assert history_of(ses_app, "full@example.com") == []


@pytest.mark.parametrize("why", ["unsigned", "wrong", "tampered", "other key", "stale"])
def test_a_post_that_is_not_sns_s_is_refused_and_changes_nothing(ses_app, stand_in, why):
    notification = ses_notification("Complaint", "eve@example.com")
    at = now_utc() - timedelta(hours=2) if why == "stale" else None
    message = stand_in.sign(sns_envelope(notification, at=at))
    if why == "unsigned":
        del message["Signature"]
    elif why == "wrong":
        message["Signature"] = message["Signature"][:-8] + "AAAAAAA="
    elif why == "tampered":
        message["Message"] = json.dumps(ses_notification("Complaint", "ada@example.com"))
    elif why == "other key":
        message = stand_in.sign(sns_envelope(notification), key=SnsStandIn().key)
    answer = post(ses_app, message)
    word = why if why in ("unsigned", "stale") else "wrong"
    assert (answer.status_code, answer.json) == (
        {"unsigned": 401, "stale": 409}.get(why, 403),
        {"error": word},
    )
    assert suppression_of(ses_app, "eve@example.com") is None
    assert suppression_of(ses_app, "ada@example.com") is None


def test_a_replayed_post_is_refused(ses_app, stand_in):
    message = stand_in.sign(sns_envelope(ses_notification("Complaint", "r@example.com")))
    assert post(ses_app, message).status_code == 200
    again = post(ses_app, message)
    assert (again.status_code, again.json) == (409, {"error": "replayed"})
    assert history_of(ses_app, "r@example.com") == [("complaint", "ses", None)]


def test_a_topic_not_listed_is_refused_even_when_validly_signed(ses_app, stand_in):
    message = sns_envelope(ses_notification("Complaint", "t@example.com"))
    message["TopicArn"] = "arn:aws:sns:eu-west-1:999999999999:someone-elses"
    assert post(ses_app, stand_in.sign(message)).status_code == 403
    assert suppression_of(ses_app, "t@example.com") is None


def test_a_subscription_is_confirmed_by_visiting_its_subscribe_url(ses_app, stand_in):
    confirm = f"http://{stand_in.host}/confirm?Action=ConfirmSubscription&Token=abc"
    message = sns_envelope(
        kind="SubscriptionConfirmation", Token="abc", SubscribeURL=confirm, Message="confirm"
    )
    assert post(ses_app, stand_in.sign(message)).status_code == 200
    assert stand_in.confirmations == ["/confirm?Action=ConfirmSubscription&Token=abc"]
    # Unsigned, it visits nothing.
    forged = {
        **stand_in.sign(
            sns_envelope(
                kind="SubscriptionConfirmation", Token="x", SubscribeURL=confirm, Message="x"
            )
        )
    }
    forged["Signature"] = ""
    assert post(ses_app, forged).status_code == 401
    assert len(stand_in.confirmations) == 1


def test_the_certificate_host_is_strict_outside_tests(make_app, smtp, stand_in):
    # The same app without the testing-only host: a loopback certificate URL is refused.
    app = make_app(MAIL_PORT=smtp.port, SES_SNS_TOPIC_ARNS=[TOPIC])
    message = stand_in.sign(sns_envelope(ses_notification("Complaint", "c@example.com")))
    assert post(app, message).status_code == 403
    assert suppression_of(app, "c@example.com") is None
    production = create_app(
        base_config(
            "sqlite://",
            APP_ENV="production",
            SECRET_KEY="k3Jq9vX2mP8wL5nR7tY4bH6cF1dG0sAz",
            MAIL_SENDER_THREADS=0,
        )
    )
    with production.app_context():
        assert sns.allowed_url(
            "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem"
        )
        assert sns.allowed_url("https://sns.cn-north-1.amazonaws.com.cn/cert.pem")
        for url in (
            "http://sns.eu-west-1.amazonaws.com/cert.pem",
            "https://sns.eu-west-1.amazonaws.com.evil.test/cert.pem",
            "https://evil.test/sns.eu-west-1.amazonaws.com/cert.pem",
            "https://user@sns.eu-west-1.amazonaws.com/cert.pem",
            "https://sns.eu-west-1.amazonaws.com:8443/cert.pem",
            f"http://{stand_in.host}/cert.pem",
        ):
            assert not sns.allowed_url(url), url


def test_the_testing_only_host_setting_stops_a_production_start():
    from config import ConfigError

    with pytest.raises(ConfigError, match="WEBHOOK_SNS_TEST_CERT_HOSTS"):
        create_app(
            base_config(
                "sqlite://",
                APP_ENV="production",
                SECRET_KEY="k3Jq9vX2mP8wL5nR7tY4bH6cF1dG0sAz",
                WEBHOOK_SNS_TEST_CERT_HOSTS=["127.0.0.1:1"],
            )
        )


def test_an_unconfigured_provider_is_not_there(app, stand_in):
    message = stand_in.sign(sns_envelope(ses_notification("Complaint", "n@example.com")))
    assert post(app, message).status_code == 404
