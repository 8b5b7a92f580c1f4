"""Request bodies bounded by MAX_CONTENT_LENGTH whether or not the client gave their length.

A body with a Content-Length over the limit is refused without being stored. A streamed body (chunked,
no length) is read up to the limit; Werkzeug then stops reading and hands the first part to
the view as if it were the whole body, so a CSV cut inside its last value would be stored. Here
one byte more is looked for at the limit: if there is one, the request is refused whole (413).
"""

from typing import IO

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

DRAIN_CHUNK = 64 * 1024


class StreamedBody(LimitedStream):
    """A streamed body read up to ``limit`` bytes; more than that is a 413, never a cut."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit, is_max=True)

    def on_exhausted(self) -> None:
        """Called at the limit: the body ends here, or it is too large."""
        if self._stream.read(1):
            self._discard_rest()
            raise RequestEntityTooLarge()

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted:
            self.on_exhausted()
        return data

    def _discard_rest(self) -> None:
        discard(self._stream, self.limit)


def discard(stream: IO[bytes], budget: int) -> None:
    """Read and drop up to ``budget`` bytes that the client is still sending, so that it reads
    the 413 answer instead of a connection reset in the middle of sending (a body more than
    twice the limit is still cut off)."""
    while budget > 0:
        chunk = stream.read(min(DRAIN_CHUNK, budget))
        if not chunk:
            return
        budget -= len(chunk)


class BoundedRequest(Request):
    """Flask's request, with a streamed body held to MAX_CONTENT_LENGTH like one with a length."""

    @cached_property
    def stream(self) -> IO[bytes]:
        limit, length = self.max_content_length, self.content_length
        if limit is not None and length is not None and length > limit:
            discard(self.environ["wsgi.input"], min(length, 2 * limit))
            raise RequestEntityTooLarge()
        if limit is not None and length is None and "wsgi.input_terminated" in self.environ:
            return StreamedBody(self.environ["wsgi.input"], limit)  # type: ignore[return-value]
        return get_input_stream(self.environ, max_content_length=limit)
