"""The time budget of the delivery lane a sender runs in (``connector.lanes``), read by senders between sends.

A sender that sends row by row (billing) asks ``spent()`` before each row; once the lane's budget is used up, or
the worker is stopping, it answers ``UNSENT`` for the rest, which the recording step releases (due again at once,
no attempt counted). A sender called outside a lane (``delivery.drain`` in a test or the CLI) has no budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

#: the outcome of a row its sender did not try: released unsent
UNSENT = "unsent"


@dataclass(frozen=True)
class Budget:
    """Until when (``time.monotonic``) a lane may start sends, and the worker's stop signal."""

    until: float
    stop: threading.Event | None = None

    def spent(self) -> bool:
        return time.monotonic() >= self.until or (self.stop is not None and self.stop.is_set())


_CURRENT: ContextVar[Budget | None] = ContextVar("connector_lane_budget", default=None)


@contextmanager
def budget(seconds: float, stop: threading.Event | None = None) -> Iterator[Budget]:
    """Run the block (a lane's claimed batch) with ``seconds`` to start its sends."""
    current = Budget(time.monotonic() + seconds, stop)
    token = _CURRENT.set(current)
    try:
        yield current
    finally:
        _CURRENT.reset(token)


def spent() -> bool:
    """Whether the current lane may start no more sends (always ``False`` outside a lane)."""
    current = _CURRENT.get()
    return current is not None and current.spent()


__all__ = ["UNSENT", "Budget", "budget", "spent"]
