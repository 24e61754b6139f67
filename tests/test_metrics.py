"""/metrics in one process: only with the bearer token, Prometheus' text format (read back
with prometheus_client's own parser), counters that follow what the SMTP server saw, and
gauges read from the outbox and the suppression list."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.mail import suppression
from tests.conftest import wait_for
from tests.metrics_helpers import TOKEN, parse, scrape, total, value
from tests.outbox_helpers import queue, stored


@pytest.fixture
def metrics_app(make_app, smtp):
    return make_app(MAIL_PORT=smtp.port, METRICS_TOKEN=TOKEN)


def test_metrics_need_the_token_and_are_off_without_one(metrics_app, app):
    client = metrics_app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN[:-1]}x"})
    assert wrong.status_code == 401
    basic = client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    right = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
    assert right.headers["Content-Type"].startswith("text/plain; version=")
    assert "mailroom_outbox_messages" in right.get_data(as_text=True)
    # No METRICS_TOKEN: nothing there.
    assert app.test_client().get("/metrics").status_code == 404


def test_counters_follow_what_the_smtp_server_saw(metrics_app, smtp, senders):
    client = metrics_app.test_client()
    before = scrape(client)
    smtp.handler.rcpt_faults.append("550 5.1.1 <gone@example.com>: User unknown")
    smtp.faults.append("451 4.3.0 Try again later")
    gone, *rest = queue(metrics_app, "gone@example.com", "a@example.com", "b@example.com")
    senders(metrics_app)
    wait_for(lambda: all(stored(metrics_app, i).status == "sent" for i in rest))
    wait_for(lambda: stored(metrics_app, gone).status == "failed")
    after = scrape(client)

    def moved(name, **labels):
        return total(after, name, **labels) - total(before, name, **labels)

    template = {"template": "test_email"}
    assert moved("mailroom_deliveries_total", outcome="sent", **template) == len(smtp.messages)
    assert len(smtp.messages) == 2
    assert moved("mailroom_deliveries_total", outcome="retried", **template) == 1
    assert moved("mailroom_deliveries_total", outcome="failed", **template) == 1
    assert moved("mailroom_mail_enqueued_total", **template) == 3
    assert moved("mailroom_smtp_replies_total", **{"class": "2xx"}) == 2
    assert moved("mailroom_smtp_replies_total", **{"class": "4xx"}) == 1
    assert moved("mailroom_smtp_replies_total", **{"class": "5xx"}) == 1
    assert moved("mailroom_send_duration_seconds_count", outcome="sent") == 2
    assert moved("mailroom_bounces_total", kind="hard_bounce", source="smtp") == 1
    # Gauges from the database: the outbox now, the address the bounce suppressed.
    assert value(after, "mailroom_outbox_messages", status="sent") == 2
    assert value(after, "mailroom_outbox_messages", status="failed") == 1
    assert value(after, "mailroom_suppressed_addresses") == 1
    assert value(after, "mailroom_senders_alive") == 1
    assert value(after, "mailroom_database_up") == 1

    # Mail to the suppressed address is counted as suppressed, never offered.
    queue(metrics_app, "gone@example.com")
    last = scrape(client)
    assert (
        total(last, "mailroom_deliveries_total", outcome="suppressed")
        - total(after, "mailroom_deliveries_total", outcome="suppressed")
        == 1
    )


def test_the_oldest_queued_age_comes_from_the_outbox(metrics_app):
    queue(metrics_app, "waiting@example.com")  # no senders: it waits
    samples = scrape(metrics_app.test_client())
    assert value(samples, "mailroom_outbox_messages", status="queued") == 1
    assert 0 <= value(samples, "mailroom_outbox_oldest_queued_age_seconds") < 60
    assert value(samples, "mailroom_senders_alive") == 0


def test_a_database_that_does_not_answer_gives_database_up_0_not_a_500(metrics_app):
    with metrics_app.app_context():
        db.session.execute(db.text("DROP TABLE mail_suppression"))
        db.session.commit()
    answer = metrics_app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    samples = parse(answer.get_data(as_text=True))
    assert value(samples, "mailroom_database_up") == 0


def test_webhook_verdicts_are_counted(make_app, smtp):
    from tests.webhook_helpers import MAILGUN_KEY, mailgun_post

    app = make_app(
        MAIL_PORT=smtp.port, METRICS_TOKEN=TOKEN, MAILGUN_WEBHOOK_SIGNING_KEY=MAILGUN_KEY
    )
    client = app.test_client()
    before = scrape(client)
    event = {"event": "complained", "recipient": "c@example.com"}
    body = mailgun_post(event)
    client.post("/webhooks/mailgun", json=body)
    client.post("/webhooks/mailgun", json=body)  # replayed
    after = scrape(client)

    def moved(**labels):
        return total(after, "mailroom_webhook_posts_total", **labels) - total(
            before, "mailroom_webhook_posts_total", **labels
        )

    assert moved(provider="mailgun", verdict="accepted") == 1
    assert moved(provider="mailgun", verdict="replayed") == 1
    assert total(after, "mailroom_bounces_total", kind="complaint", source="mailgun") >= 1
    with app.app_context():
        assert suppression.reason_for("c@example.com")


def _metric_total(name: str, **labels) -> float:
    """This process's own counters, read through the same exposition /metrics serves."""
    from prometheus_client import REGISTRY, generate_latest

    return total(parse(generate_latest(REGISTRY).decode()), name, **labels)


def test_smtp_connections_count_reconnects_and_failures(make_app, make_smtp, senders):
    from tests.smtp_server import free_port

    port = free_port()  # nothing listens yet: the transport fails
    app = make_app(MAIL_PORT=port, METRICS_TOKEN=TOKEN)
    relay = f"127.0.0.1:{port}"
    failed = _metric_total("mailroom_smtp_connections_total", relay=relay, outcome="failed")
    [row_id] = queue(app, "a@example.com")
    senders(app)
    wait_for(
        lambda: (
            _metric_total("mailroom_smtp_connections_total", relay=relay, outcome="failed") > failed
        )
    )
    connected = _metric_total("mailroom_smtp_connections_total", relay=relay, outcome="connected")
    smtp = make_smtp(port=port)
    wait_for(lambda: stored(app, row_id).status == "sent", timeout=15)
    samples = scrape(app.test_client())
    assert total(samples, "mailroom_smtp_connections_total", relay=relay, outcome="connected") == (
        connected + 1
    )
    assert len(smtp.messages) == 1


def test_xoauth2_token_renewals_are_counted(certs):
    from app.mail.oauth2 import OAuth2Settings, TokenError, TokenSource
    from tests.oauth_server import TokenEndpoint
    from tests.provider_helpers import google_refresh

    endpoint = TokenEndpoint(certs.trusted)
    try:
        settings = OAuth2Settings.from_config(
            {"MAIL_TIMEOUT": 2.0, **google_refresh(endpoint, certs)}
        )
        renewed = _metric_total("mailroom_oauth2_token_renewals_total", outcome="renewed")
        failed = _metric_total("mailroom_oauth2_token_renewals_total", outcome="failed")
        source = TokenSource(settings)
        token = source.current()
        source.current()  # cached: no renewal
        endpoint.refuse = ("invalid_grant", "refresh token revoked")
        with pytest.raises(TokenError):
            source.renew(token)
    finally:
        endpoint.stop()
    assert _metric_total("mailroom_oauth2_token_renewals_total", outcome="renewed") == renewed + 1
    assert _metric_total("mailroom_oauth2_token_renewals_total", outcome="failed") == failed + 1
