"""A per-address sliding-window limit (kiosk ticket flooding).

Kept in memory: one server process holds one window of counts. With several processes
behind nginx sticky sessions a client always reaches the same process, so the limit holds.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class RateLimiter:
    def __init__(self, limit: int, per_seconds: float, exempt=()):
        self.limit = limit
        self.per = per_seconds
        self.exempt = set(exempt)
        self._hits: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        if not self.limit or key in self.exempt:
            return True
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.per:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle addresses
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return True
