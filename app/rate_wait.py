"""How long a rate-limited person must wait, read from the limits Flask-Limiter checked for
this request: the 429 page and its Retry-After header say the real wait, not a guess."""

from __future__ import annotations

import math
import time

from flask_babel import ngettext
from flask_limiter.errors import RateLimitExceeded

from app.extensions import limiter


def seconds_to_wait(error: RateLimitExceeded) -> int:
    """Until every exhausted limit of this request has room again (at least one second)."""
    now = time.time()
    try:
        # Flask-Limiter rounds a reset up to the next whole second: never past the window.
        resets = [
            min(limit.reset_at, now + limit.limit.get_expiry())
            for limit in limiter.current_limits
            if limit.breached or limit.remaining <= 0
        ]
    except Exception:  # noqa: BLE001 - storage unreachable: fall back to the window below
        resets = []
    if not resets:
        # No window known: the longest the limit that was hit can last.
        return int(error.limit.limit.get_expiry())
    return max(1, math.ceil(max(resets) - now))


def wait_in_words(seconds: int) -> str:
    """The wait as a person says it (42 seconds, 3 minutes, 2 hours), rounded up, in the
    page's language."""
    if seconds < 60:
        return ngettext("%(num)d second", "%(num)d seconds", seconds)
    if seconds < 3600:
        return ngettext("%(num)d minute", "%(num)d minutes", math.ceil(seconds / 60))
    return ngettext("%(num)d hour", "%(num)d hours", math.ceil(seconds / 3600))
