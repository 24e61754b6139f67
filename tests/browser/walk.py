"""What the page walk (test_pages_walk.py) visits: every page of Mailroom, for a visitor, a
user and an admin, each a URL or a step that leaves its page on the tab (a form's errors,
the 429 page, a result). Paths hold placeholders filled from the walk's `Site`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from tests.browser.people import submit

USER, USER_PASSWORD = "walker@example.com", "a long enough passphrase"
LIMITED = "limited@example.com"
# Plain text served as is (no header, no <html lang>): only its width is checked.
PLAIN = {"dev-message-raw"}


@dataclass
class Site:
    url: str
    # Placeholders of the paths walked: tokens of emailed links, ids of rows, per language.
    values: dict[str, dict[str, str]]
    # Browser storage (the session cookie) of each person already logged in.
    signed_in: dict[str, dict]


# Steps a walk takes by more than opening a URL: each leaves the page it led to on the tab.
def login_errors(tab: Page, site: Site) -> None:
    tab.goto(f"{site.url}/login")
    submit(tab)  # nothing typed: the problems are summed up above the form
    expect(tab.locator(".error-summary")).to_be_visible()


def too_many_tries(tab: Page, site: Site) -> None:
    """Ask for a reset link for one address until the limit answers (5 a minute), then once
    more in the browser: the page a person sees. The posts before it skip the rendering."""
    tab.goto(f"{site.url}/reset-password")
    token = tab.locator("main input[name=csrf_token]").input_value()
    form = {"csrf_token": token, "email": LIMITED}
    for _ in range(12):
        if tab.request.post(f"{site.url}/reset-password", form=form).status == 429:
            break
    tab.locator("input[name=email]").fill(LIMITED)
    with tab.expect_navigation() as answer:
        tab.locator("main button[type=submit]").click()
    assert answer.value.status == 429, "the reset form did not answer 429"


def change_email_sent(tab: Page, site: Site) -> None:
    """The change of address asked for: the page where the emailed code can be typed."""
    tab.goto(f"{site.url}/account/email")
    tab.locator("input[name=email]").fill("walker@next.example.com")
    tab.locator("input[name=current_password]").fill(USER_PASSWORD)
    submit(tab)
    expect(tab.locator("input[name=code]")).to_be_visible()


def connection_check(tab: Page, site: Site) -> None:
    tab.goto(f"{site.url}/admin/mail")
    with tab.expect_navigation():
        tab.locator('form[action$="/admin/mail/check"] button[type=submit]').click()


Step = tuple[str, "str | Callable[[Page, Site], None]"]
WALK: list[tuple[str | None, list[Step]]] = [
    (
        None,
        [
            ("home", "/"),
            ("signup", "/signup"),
            ("login", "/login"),
            ("login-errors", login_errors),
            ("reset-request", "/reset-password"),
            ("resend", "/confirm/resend"),
            ("check-inbox-code", "/check-your-inbox/signup"),
            ("check-inbox-reset", "/check-your-inbox/reset"),
            ("choose-password", "/confirm/{confirm}"),
            ("confirm-invalid", "/confirm/not-a-token"),
            ("reset-password", "/reset-password/{reset}"),
            ("reset-invalid", "/reset-password/not-a-token"),
            ("change-email-confirm", "/account/email/confirm/{change}"),
            ("change-email-invalid", "/account/email/confirm/not-a-token"),
            ("change-email-undo", "/account/email/undo/{undo}"),
            ("undo-invalid", "/account/email/undo/not-a-token"),
            ("not-found", "/no-such-page"),
            ("too-many-tries", too_many_tries),
        ],
    ),
    (
        "user",
        [
            ("home-signed-in", "/"),
            ("account", "/account"),
            ("change-password", "/account/password"),
            ("change-email", "/account/email"),
            ("change-email-code", change_email_sent),
            ("admins-only", "/admin/mail"),
        ],
    ),
    (
        "admin",
        [
            ("admin-home", "/"),
            ("admin-mail", "/admin/mail"),
            ("admin-check", connection_check),
            ("admin-outbox", "/admin/mail/outbox"),
            ("admin-message", "/admin/mail/outbox/{outbox}"),
            ("admin-previews", "/admin/mail/previews"),
            ("admin-preview", "/admin/mail/previews/confirm_email"),
            ("admin-suppressions", "/admin/mail/suppressions"),
            ("admin-suppression", "/admin/mail/suppressions/{suppression}"),
            ("dev-mailbox", "/dev/mailbox"),
            ("dev-message", "/dev/mailbox/{caught}"),
            ("dev-message-raw", "/dev/mailbox/{caught}/raw"),
        ],
    ),
]
