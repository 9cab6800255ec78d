"""Per-user rate limit: at most `count` questions in any `seconds` window."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class RateLimiter:
    """Sliding-window limiter keyed by user id; memory is bounded by `max_users`."""

    def __init__(
        self,
        count: int,
        seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_users: int = 100_000,
    ) -> None:
        self.count = count
        self.seconds = seconds
        self._clock = clock
        self._max_users = max_users
        self._hits: OrderedDict[int, deque[float]] = OrderedDict()

    def hit(self, user_id: int) -> float | None:
        """Count a question; return None if allowed, else seconds until the user may ask again."""
        now = self._clock()
        hits = self._hits.get(user_id)
        if hits is None:
            hits = self._hits[user_id] = deque()
            if len(self._hits) > self._max_users:
                self._hits.popitem(last=False)
        self._hits.move_to_end(user_id)
        while hits and now - hits[0] >= self.seconds:
            hits.popleft()
        if len(hits) >= self.count:
            return max(0.0, self.seconds - (now - hits[0]))
        hits.append(now)
        return None
