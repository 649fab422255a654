"""A sliding-window pacer for endpoints with a per-minute request budget.

Zendesk allows 10 incremental-export requests a minute. Sleeping before the eleventh request is cheaper
than collecting a 429 and its Retry-After, and it keeps the connector from starving other integrations.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable


class SlidingWindowPacer:
    """Blocks (through the injected ``sleep``) until another request fits in the window."""

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a free slot, record the request and return how long it waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return waited
                delay = self._sent[0] + self.window - now
                self._sleep(delay)
                waited += delay
