"""Error pages speak plainly: one sentence per status instead of Werkzeug's wording, and the
text our own code passes to abort() kept. Also: the header offers admins the mail console."""

import re

from tests.accounts import submit
from tests.admin_helpers import admin_client, log_in, make_user

WERKZEUG_WORDING = ("read-protected", "requested URL", "permission")


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_non_admin_is_told_the_page_is_for_admins(app):
    client = app.test_client()
    log_in(client, make_user(app, "bob@example.com"))
    page = _text(client.get("/admin/mail"))
    assert "This page is for admins." in page
    assert not any(words in page for words in WERKZEUG_WORDING)


def test_unknown_page_and_wrong_method_read_plainly(client):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "There is no page here." in _text(missing)
    wrong = client.delete("/login")
    assert wrong.status_code == 405
    assert "be used that way" in _text(wrong)
    assert not any(words in _text(missing) + _text(wrong) for words in WERKZEUG_WORDING)


def test_our_own_reason_for_a_404_is_kept(app):
    page = admin_client(app).get("/admin/mail/previews/no_such_template")
    assert page.status_code == 404
    assert "There is no email template by that name." in _text(page)


def test_rate_limit_page_gives_the_wait(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    answers = [
        submit(client, "/login", {"email": "a@example.com", "password": "x"}) for _ in range(12)
    ]
    limited = [r for r in answers if r.status_code == 429]
    assert limited
    assert re.search(r"Wait (\d+ seconds?|1 minute), then try again\.", _text(limited[0]))


def test_only_admins_see_the_mail_console_link(app):
    ordinary = app.test_client()
    log_in(ordinary, make_user(app, "bob@example.com"))
    assert "Mail console" not in _text(ordinary.get("/"))
    assert 'href="/admin/mail">Mail console' in _text(admin_client(app).get("/"))
