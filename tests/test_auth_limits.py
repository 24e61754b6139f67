"""Rate limits on the account forms: per client and per address, the same answer for
known and unknown addresses."""

import pytest

from tests.accounts import PASSWORD, make_user, outbox, scrub, submit


@pytest.fixture
def limited_app(make_app, smtp):
    return make_app(MAIL_PORT=smtp.port, RATELIMIT_ENABLED=True)


def client_from(app, ip):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def statuses(app, path, data, count, ips):
    """Post `data` `count` times, cycling through client addresses `ips`."""
    answers = []
    for n in range(count):
        client = client_from(app, ips[n % len(ips)])
        answers.append(submit(client, path, data))
    return answers


@pytest.mark.parametrize(
    ("path", "field"),
    [("/reset-password", "email"), ("/confirm/resend", "email"), ("/signup", "email")],
)
def test_per_address_limit_answers_the_same_for_known_and_unknown(limited_app, path, field):
    make_user(limited_app, "ada@example.com", confirmed=False)
    extra = {"password": PASSWORD, "password_confirm": PASSWORD} if path == "/signup" else {}
    ips = [f"10.0.0.{n}" for n in range(1, 9)]
    known = statuses(limited_app, path, {field: "ada@example.com", **extra}, 8, ips)
    unknown = statuses(limited_app, path, {field: "nobody@example.com", **extra}, 8, ips)
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert 429 in {r.status_code for r in known}
    assert scrub(known[-1].text) == scrub(unknown[-1].text)
    assert "Too many attempts" in known[-1].text


def test_address_spelling_does_not_dodge_the_limit(limited_app):
    spellings = ["ada@example.com", "ADA@example.com", " Ada@Example.COM "]
    ips = [f"10.0.1.{n}" for n in range(1, 9)]
    answers = [
        submit(client_from(limited_app, ips[n]), "/reset-password", {"email": spellings[n % 3]})
        for n in range(8)
    ]
    assert answers[-1].status_code == 429


def test_per_client_limit_holds_across_addresses(limited_app):
    client = client_from(limited_app, "10.0.2.1")
    answers = [
        submit(client, "/reset-password", {"email": f"user{n}@example.com"}) for n in range(12)
    ]
    assert answers[0].status_code == 302
    assert answers[-1].status_code == 429
    other = client_from(limited_app, "10.0.2.2")
    assert submit(other, "/reset-password", {"email": "x@example.com"}).status_code == 302


def test_login_is_limited_per_address(limited_app):
    make_user(limited_app, "ada@example.com")
    ips = [f"10.0.3.{n}" for n in range(1, 13)]
    wrong = {"email": "ada@example.com", "password": "guess guess"}
    answers = statuses(limited_app, "/login", wrong, 12, ips)
    assert answers[0].status_code == 200
    assert answers[-1].status_code == 429
    unknown = statuses(
        limited_app, "/login", {"email": "nobody@example.com", "password": "g"}, 12, ips
    )
    assert [r.status_code for r in answers] == [r.status_code for r in unknown]


def test_a_flood_of_reset_requests_queues_at_most_the_cap(limited_app):
    make_user(limited_app, "ada@example.com")
    cap = limited_app.config["MAIL_ACCOUNT_MAILS_PER_HOUR"]
    ips = [f"10.0.4.{n}" for n in range(1, 21)]
    known = statuses(limited_app, "/reset-password", {"email": "ada@example.com"}, 20, ips)
    unknown = statuses(limited_app, "/reset-password", {"email": "nobody@example.com"}, 20, ips)
    assert len(outbox(limited_app)) <= cap
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert [scrub(r.text) for r in known] == [scrub(r.text) for r in unknown]


def test_pages_are_not_limited_by_reading_them(limited_app):
    client = client_from(limited_app, "10.0.5.1")
    assert {client.get("/reset-password").status_code for _ in range(30)} == {200}
