"""Error pages say what happened in words, with the status code small beside them, and a
rate-limited person is told how long to wait: the real wait, from the limit they hit."""

from __future__ import annotations

import html
import re

from tests.accounts import submit
from tests.admin_helpers import log_in, make_user


def _heading(page: str) -> str:
    return html.unescape(re.search(r"<h1>([^<]+)</h1>", page).group(1))


def _code(page: str) -> str:
    return re.search(r'<p class="error-code">([^<]+)</p>', page).group(1)


def test_a_missing_page_says_page_not_found_with_the_code_small(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert _heading(response.text) == "Page not found"
    assert _code(response.text) == "Error 404"


def test_an_admin_page_tells_others_it_is_only_for_admins(app):
    client = app.test_client()
    log_in(client, make_user(app, "bob@example.com"))
    response = client.get("/admin/mail")
    assert response.status_code == 403
    assert _heading(response.text) == "Only admins can open this page"
    assert _code(response.text) == "Error 403"


def test_other_statuses_name_what_happened(client):
    wrong_method = client.delete("/login")
    assert _heading(wrong_method.text) == "This page can't be used that way"
    expired = client.post("/login", data={"email": "a@example.com", "password": "x"})
    assert expired.status_code == 400
    assert _heading(expired.text) == "This form has expired"


def _limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    for _ in range(30):
        response = submit(client, "/login", {"email": "a@example.com", "password": "wrong"})
        if response.status_code == 429:
            return response
    raise AssertionError("no rate limit after 30 tries")


def _wait_in_seconds(page: str) -> int:
    match = re.search(r"Wait (\d+) (second|seconds|minute|minutes), then try again", page)
    assert match, page
    number, unit = int(match.group(1)), match.group(2)
    return number * 60 if unit.startswith("minute") else number


def test_too_many_tries_gives_the_real_wait(make_app):
    limited = _limited(make_app)
    page = limited.text
    assert _heading(page) == "Too many tries"
    assert _code(page) == "Error 429"
    # Ten failed log-ins a minute per (client, address): the wait is what is left of the
    # minute, never more, and the Retry-After header says the same in seconds.
    wait = _wait_in_seconds(page)
    assert 1 <= wait <= 60
    assert abs(int(limited.headers["Retry-After"]) - wait) <= 1
