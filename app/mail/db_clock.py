"""The database's clock, for leases and due times: one clock for every host.

A lease written with one host's clock and read with another's is wrong by their skew: a
host three minutes ahead would take every batch the others hold. `utc_now()` is the time
in the database, as naive UTC, in the form every other DateTime column is stored in.
"""

from __future__ import annotations

from sqlalchemy import DateTime, Float, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.functions import FunctionElement


class utc_now(FunctionElement):  # noqa: N801 - reads as the SQL function it renders
    """Now by the database's clock, plus `seconds` (a number or a bound parameter)."""

    type = DateTime()
    name = "utc_now"
    inherit_cache = True

    def __init__(self, seconds: float | BindParameter | None = None):
        if seconds is None:
            super().__init__()
        elif isinstance(seconds, BindParameter):
            super().__init__(seconds)
        else:
            super().__init__(bindparam(None, float(seconds), type_=Float))


def _offset(element, compiler, **kw) -> str | None:
    clauses = list(element.clauses)
    return compiler.process(clauses[0], **kw) if clauses else None


@compiles(utc_now, "postgresql")
def _postgresql(element, compiler, **kw) -> str:
    # statement_timestamp(): the start of this statement, not of its transaction (now()),
    # and stable within it, so the claim's comparisons can still use an index.
    now = "timezone('utc', statement_timestamp())"
    offset = _offset(element, compiler, **kw)
    return f"({now} + make_interval(secs => {offset}))" if offset else now


@compiles(utc_now, "sqlite")
def _sqlite(element, compiler, **kw) -> str:
    # SQLAlchemy stores DateTime on SQLite as text with six digits of microseconds and
    # compares the text: strftime's %f gives milliseconds, so pad to the same shape.
    offset = _offset(element, compiler, **kw)
    modifier = f", printf('%+.6f seconds', {offset})" if offset else ""
    return f"(strftime('%Y-%m-%d %H:%M:%f', 'now'{modifier}) || '000')"
