"""Request bodies: refused with 413 past MAX_CONTENT_LENGTH, before they are read.

Every form here is a few short fields. Werkzeug already refuses a Content-Length over the
limit, and form fields and parts are capped by MAX_FORM_MEMORY_SIZE and MAX_FORM_PARTS
(config.py); this module closes the two gaps left: a chunked urlencoded body over the limit
is silently cut at it (the form then looks empty: a 400 that hides why), and a view that
never reads its body would let it through.
"""

from __future__ import annotations

from typing import IO

from flask import Flask, Request, abort, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream


class _CappedBody(LimitedStream):
    """A body of unknown length (chunked) read up to the limit: reading it whole when
    more follows is a 413, not a truncated form."""

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


class BoundedRequest(Request):
    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        # gunicorn ends a chunked body itself (wsgi.input_terminated): the only case where
        # Werkzeug reads a body of unknown length at all.
        if self.content_length is None and limit and "wsgi.input_terminated" in self.environ:
            return _CappedBody(self.environ["wsgi.input"], limit, is_max=True)
        return super().stream


def init_app(app: Flask) -> None:
    app.request_class = BoundedRequest
    app.before_request(refuse_oversized_body)


def refuse_oversized_body() -> None:
    """Views that never read their body (a GET, a redirect) refuse an oversized one too,
    before any work is done for it."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        abort(413)
