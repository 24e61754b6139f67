"""A visitor whose browser asks for English reads the site in German after one click at the
foot of the page, stays on the page they were reading, and keeps the choice."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_visitor_switches_the_page_they_are_reading_to_german_and_back(live, page, shoot):
    page.goto(f"{live.url}/reset-password")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shoot(page, "english")

    page.get_by_role("form", name="Language").get_by_role("button", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    assert page.url == f"{live.url}/reset-password"
    expect(page.get_by_role("button", name="English")).to_be_visible()
    shoot(page, "german")

    # The choice holds on the next page, though the browser still asks for English.
    page.goto(f"{live.url}/signup")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_role("form", name="Sprache").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.url == f"{live.url}/signup"
