"""A User-Agent header in a few words ("Chrome on Linux"), for the account page's list of
sessions. Good enough for a person to recognise their own devices; not for statistics.
The words around the names follow the page's language ("Chrome unter Linux"); the names of
browsers and systems are names, never translated."""

from __future__ import annotations

from flask_babel import gettext as _

# First match wins: most browsers also claim to be the ones before them (Edge and Opera
# say "Chrome", Chrome says "Safari", everything says "Mozilla").
BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-requests/", "Python requests"),
)
# Android says "Linux", iPhones say "like Mac OS X": the specific names come first.
SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def describe(user_agent: str | None) -> str:
    """A few words: "Firefox on Windows", "Safari on iPhone", "curl", "Unknown browser"."""
    browser = next((name for mark, name in BROWSERS if mark in (user_agent or "")), None)
    system = next((name for mark, name in SYSTEMS if mark in (user_agent or "")), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    if browser:
        return browser
    if system:
        return _("A browser on %(system)s", system=system)
    return _("Unknown browser")
