"""`flask users logout EMAIL` ends every session of one account at once (an admin's action),
and `flask users purge` deletes the ended ones."""

from __future__ import annotations

from tests.accounts import is_logged_in, make_user
from tests.sessions_helpers import browser, live_rows, session_rows


def test_users_logout_ends_every_session_of_that_account(app, runner):
    make_user(app, "ada@example.com")
    make_user(app, "bob@example.com")
    laptop, phone = browser(app), browser(app)
    bob = browser(app, email="bob@example.com")
    result = runner.invoke(args=["users", "logout", " ADA@example.com "])
    assert result.exit_code == 0, result.output
    assert "ended 2 sessions of ada@example.com" in result.output
    assert not is_logged_in(laptop) and not is_logged_in(phone)
    assert is_logged_in(bob)
    assert live_rows(app) == []


def test_users_logout_refuses_an_unknown_or_malformed_address(app, runner):
    unknown = runner.invoke(args=["users", "logout", "ghost@example.com"])
    assert unknown.exit_code == 1 and "no account for ghost@example.com" in unknown.output
    malformed = runner.invoke(args=["users", "logout", "not an address"])
    assert malformed.exit_code == 2 and "EMAIL" in malformed.output


def test_users_purge_sessions_deletes_the_ended_ones(app, runner):
    make_user(app, "ada@example.com")
    browser(app)
    runner.invoke(args=["users", "logout", "ada@example.com"])
    kept = browser(app)
    result = runner.invoke(args=["users", "purge"])
    assert result.exit_code == 0 and "deleted 1 ended sessions" in result.output
    assert len(session_rows(app)) == 1
    assert is_logged_in(kept)
