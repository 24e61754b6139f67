"""A User-Agent header in a few words ("Chrome on Linux"), for the account page's list of
sessions. Good enough for a person to recognise their own devices; not for statistics."""

from __future__ import annotations

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
UNKNOWN = "Unknown browser"


def describe(user_agent: str | None) -> str:
    """A few words: "Firefox on Windows", "Safari on iPhone", "curl", "Unknown browser"."""
    if not user_agent:
        return UNKNOWN
    browser = next((name for mark, name in BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"A browser on {system}"
    return UNKNOWN
