"""The pages every visitor sees: a header whose menu marks where you are and folds on a
phone, a home page that says what Mailroom is for and what to do next, and account dates
that say their time zone."""

from __future__ import annotations

import re

from tests.admin_helpers import admin_client, log_in, make_user


def _menu(page: str) -> str:
    return page[page.index("<header") : page.index("</header>")]


def _current(page: str) -> list[str]:
    """The labels of the header links marked as the page being shown."""
    return re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>', _menu(page))


def test_the_header_marks_the_page_you_are_on(app, client):
    assert _current(client.get("/login").text) == ["Log in"]
    assert _current(client.get("/signup").text) == ["Sign up"]
    assert _current(client.get("/").text) == ["Mailroom"]
    signed_in = app.test_client()
    log_in(signed_in, make_user(app, "ada@example.com"))
    assert _current(signed_in.get("/account").text) == ["Account"]
    assert _current(signed_in.get("/account/password").text) == ["Account"]


def test_the_mail_console_is_marked_on_every_admin_page(app):
    admin = admin_client(app)
    for path in ("/admin/mail", "/admin/mail/outbox", "/admin/mail/previews"):
        assert _current(admin.get(path).text) == ["Mail console"], path


def test_a_menu_of_more_than_two_entries_folds_behind_a_menu_button_on_a_phone(app, client):
    # Two entries fit beside the brand at 375 px (logged out, or an ordinary account);
    # an admin's four do not, and fold away (static/menu.js shows the button).
    for page in (client.get("/").text, _signed_in(app).get("/").text):
        assert 'class="site-header"' in _menu(page)
    header = _menu(admin_client(app).get("/").text)
    assert 'class="site-header folds"' in header
    assert re.search(r'<button[^>]*class="menu-button"[^>]*aria-controls="site-menu"', header)
    assert 'id="site-menu"' in header
    script = client.get("/static/menu.js")
    assert script.status_code == 200 and "aria-expanded" in script.text


def _signed_in(app):
    client = app.test_client()
    log_in(client, make_user(app, "ada@example.com"))
    return client


def test_the_home_page_says_what_mailroom_is_for_and_what_to_do_next(client):
    page = client.get("/").text
    assert "the link that finishes a sign-up" in page
    assert "Try it in a minute" in page
    assert re.search(r'<a href="/signup">Sign up</a> with your email address', page)


def test_in_development_the_home_page_points_at_the_dev_mailbox(make_app, tmp_path):
    app = make_app(APP_ENV="development", TESTING=True, DEV_MAILBOX_DIR=str(tmp_path))
    page = app.test_client().get("/").text
    assert 'Open the email in the <a href="/dev/mailbox">dev mailbox</a>' in page


def test_signed_in_the_home_page_offers_the_next_steps(app):
    client = app.test_client()
    log_in(client, make_user(app, "ada@example.com"))
    page = client.get("/").text
    assert "You are logged in as <strong>ada@example.com</strong>" in page
    assert 'href="/account/password">Change your password</a>' in page
    assert "mail console" not in page
    assert 'href="/admin/mail">mail console</a>' in admin_client(app).get("/").text


def test_account_dates_carry_a_time_and_say_utc(app):
    client = app.test_client()
    log_in(client, make_user(app, "ada@example.com"))
    page = client.get("/account").text
    facts = page[page.index('<dl class="facts">') : page.index("</dl>")]
    for label in ("Confirmed", "Member since"):
        value = facts.split(f"<dt>{label}</dt>", 1)[1].split("</dd>", 1)[0]
        # Written the way the page's language writes a moment (app.i18n.when), year and time.
        assert re.search(r"\d{4}\D+\d{1,2}:\d{2}\S*\W*(AM|PM)? UTC</time>", value), value
