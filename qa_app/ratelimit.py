"""A small request limit per client address, kept in the memory of each server process.

Used by the public certificate check (the page and the API), so certificate numbers cannot be
walked in bulk. The limit is ``QA_VERIFY_RATE_LIMIT`` requests per ``QA_VERIFY_RATE_WINDOW``
seconds and address; 0 turns it off. Each process counts on its own: with several gunicorn
workers an address may make up to workers × the limit. The address is the connection's
(``REMOTE_ADDR``); behind a proxy, have the proxy pass the client's address on.
"""

import math
import threading
import time
from collections import deque

from flask import current_app, request
from werkzeug.exceptions import TooManyRequests

STALE_KEYS_CHECK = 10_000


class SlidingWindow:
    """The times of the last requests per key; a request beyond ``limit`` in ``window`` seconds waits."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: float, now: float) -> float | None:
        """Count a request; ``None`` when it may go on, else the seconds until it may."""
        with self._lock:
            if len(self._hits) > STALE_KEYS_CHECK:
                self._forget_stale(window, now)
            times = self._hits.setdefault(key, deque())
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= limit:
                return times[0] + window - now
            times.append(now)
            return None

    def _forget_stale(self, window: float, now: float) -> None:
        for key in [k for k, times in self._hits.items() if not times or times[-1] <= now - window]:
            del self._hits[key]


def limit_verification() -> None:
    """Refuse with 429 and ``Retry-After`` once this address has used up its public checks."""
    config = current_app.config
    limit, window = int(config["QA_VERIFY_RATE_LIMIT"]), float(config["QA_VERIFY_RATE_WINDOW"])
    if limit <= 0:
        return
    counter = current_app.extensions.setdefault("qa_verify_rate", SlidingWindow())
    wait = counter.hit(request.remote_addr or "unknown", limit, window, time.monotonic())
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"Too many certificate checks from your address: at most {limit} in {window:g} seconds. "
            f"Try again in {seconds} seconds.",
            retry_after=seconds,
        )
