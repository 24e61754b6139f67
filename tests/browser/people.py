"""What the browser tests do as a person: accounts made straight in the database
(an admin has no sign-up page), and logging in and out through the real pages."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page, expect
from werkzeug.security import generate_password_hash

from app import clock
from app.extensions import db
from app.models import User

LOG_OUT = re.compile(r"log\s*out", re.IGNORECASE)
ADMIN, ADMIN_PASSWORD = "admin@example.com", "the admin passphrase"


def make_user(
    app: Flask, email: str, password: str, *, is_admin: bool = False, confirmed: bool = True
) -> None:
    with app.app_context():
        user = User(
            email=email,
            password_hash=generate_password_hash(password),
            is_admin=is_admin,
            confirmed_at=clock.utcnow() if confirmed else None,
        )
        db.session.add(user)
        db.session.commit()


def fill_login(page: Page, base_url: str, email: str, password: str) -> None:
    """Open /login and type the credentials, without submitting (the caller screenshots)."""
    page.goto(f"{base_url}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)


def submit(page: Page, name: str | re.Pattern | None = None) -> None:
    """Click the form's submit button (the one called `name`, if given) and wait for the
    page the server answers with."""
    buttons = page.locator("main button[type=submit]")
    button = buttons.filter(has_text=name) if name else buttons.first
    with page.expect_navigation():
        button.click()


def log_out_button(page: Page):
    return page.get_by_role("button", name=LOG_OUT)


def expect_logged_in(page: Page) -> None:
    expect(log_out_button(page)).to_be_visible()


def expect_logged_out(page: Page) -> None:
    expect(log_out_button(page)).to_have_count(0)


def log_in_as_admin(live, page: Page, shoot=None) -> None:
    """Make the admin in the database, log in through /login and open /admin/mail."""
    live.user(ADMIN, ADMIN_PASSWORD, is_admin=True)
    fill_login(page, live.url, ADMIN, ADMIN_PASSWORD)
    submit(page)
    expect_logged_in(page)
    page.goto(f"{live.url}/admin/mail")
    expect(page.locator("input[name=to]")).to_be_visible()
    if shoot:
        shoot(page, "mail-settings")
