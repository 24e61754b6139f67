"""Where to send someone after log-in: only ever a path on this site."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """`target` if it is a local path, else None.

    Browsers read `//evil.test` and `/\\evil.test` as other hosts, `https:evil.test` as a
    scheme, and drop tabs and newlines (so `/\\t/evil.test` becomes `//evil.test`): any of
    those, or anything with a scheme or host, is refused.
    """
    if not target or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    return target
