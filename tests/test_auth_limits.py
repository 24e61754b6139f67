"""Rate limits on the account forms: per client and per address, the same answer for
known and unknown addresses."""

import pytest
from sqlalchemy import update
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import User
from tests.accounts import PASSWORD, make_user, resolve_requests, scrub, submit

# The limits are under test here, not scrypt's cost. A hash carries its own work factor and
# check_password reads it from there (as for a hash made before a change of Werkzeug's
# default), so an owner hashed with a small one still has every log-in checked for real, in
# about 3 ms instead of 100 ms: the dozens of log-ins below took seconds of scrypt each test.
QUICK_HASH = "scrypt:1024:8:1"


@pytest.fixture
def limited_app(make_app, smtp):
    return make_app(MAIL_PORT=smtp.port, RATELIMIT_ENABLED=True)


def make_owner(app, email: str) -> int:
    """A confirmed account with password PASSWORD, hashed with QUICK_HASH."""
    user_id = make_user(app, email)
    with app.app_context():
        quick = generate_password_hash(PASSWORD, QUICK_HASH)
        db.session.execute(update(User).where(User.id == user_id).values(password_hash=quick))
        db.session.commit()
    return user_id


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
    extra = {}
    ips = [f"10.0.0.{n}" for n in range(1, 9)]
    known = statuses(limited_app, path, {field: "ada@example.com", **extra}, 8, ips)
    unknown = statuses(limited_app, path, {field: "nobody@example.com", **extra}, 8, ips)
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert 429 in {r.status_code for r in known}
    assert scrub(known[-1].text) == scrub(unknown[-1].text)
    assert "Too many tries" in known[-1].text


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


def test_login_is_limited_per_client_and_address(limited_app):
    make_owner(limited_app, "ada@example.com")
    client = client_from(limited_app, "10.0.3.1")
    wrong = {"email": "ada@example.com", "password": "guess guess"}
    answers = [submit(client, "/login", wrong) for _ in range(12)]
    assert answers[0].status_code == 200
    assert answers[-1].status_code == 429
    stranger = client_from(limited_app, "10.0.3.2")
    unknown = [
        submit(stranger, "/login", {"email": "nobody@example.com", "password": "g"})
        for _ in range(12)
    ]
    assert [r.status_code for r in answers] == [r.status_code for r in unknown]


def test_failures_from_other_clients_never_lock_the_owner_out(limited_app):
    """Ten wrong passwords from ten clients used to refuse the owner's right password from
    an eleventh with a 429: a way to lock anyone out of their account."""
    make_owner(limited_app, "ada@example.com")
    wrong = {"email": "ada@example.com", "password": "guess guess"}
    for round_ in range(3):
        ips = [f"10.0.6.{round_ * 20 + n}" for n in range(1, 21)]
        statuses(limited_app, "/login", wrong, 20, ips)
    owner = client_from(limited_app, "10.0.7.1")
    right = submit(owner, "/login", {"email": "ada@example.com", "password": PASSWORD})
    assert right.status_code == 302


def test_the_owners_own_log_ins_do_not_use_up_the_limit(limited_app):
    make_owner(limited_app, "ada@example.com")
    client = client_from(limited_app, "10.0.8.1")
    right = {"email": "ada@example.com", "password": PASSWORD}
    for _ in range(12):
        assert submit(client, "/login", right).status_code == 302
        submit(client, "/logout", {}, page="/account")


def test_a_flood_of_reset_requests_sends_at_most_the_cap(limited_app):
    make_user(limited_app, "ada@example.com")
    cap = limited_app.config["MAIL_ACCOUNT_MAILS_PER_HOUR"]
    ips = [f"10.0.4.{n}" for n in range(1, 21)]
    known = statuses(limited_app, "/reset-password", {"email": "ada@example.com"}, 20, ips)
    unknown = statuses(limited_app, "/reset-password", {"email": "nobody@example.com"}, 20, ips)
    resolve_requests(limited_app)
    statuses_queued = [r for r in outbox_rows(limited_app) if r[2] == "queued"]
    assert len(statuses_queued) <= cap
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert [scrub(r.text) for r in known] == [scrub(r.text) for r in unknown]


def outbox_rows(app):
    from sqlalchemy import select

    from app.extensions import db
    from app.mail.models import OutboxMessage

    with app.app_context():
        query = select(OutboxMessage.recipient, OutboxMessage.template, OutboxMessage.status)
        return db.session.execute(query).all()


def test_pages_are_not_limited_by_reading_them(limited_app):
    client = client_from(limited_app, "10.0.5.1")
    assert {client.get("/reset-password").status_code for _ in range(30)} == {200}
