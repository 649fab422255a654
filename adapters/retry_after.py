"""``Retry-After`` as seconds to wait: the one parser every adapter uses (delta-seconds or an HTTP date).

A header is input from another system: ``inf``, ``nan``, ``1e12`` or a date in 2099 would otherwise stall a
connection for ever (or break arithmetic on a timestamp), so every answer is clamped to
``[0, MAX_RETRY_AFTER_SECONDS]``.
"""

from __future__ import annotations

import math
import time
from datetime import UTC
from email.utils import parsedate_to_datetime

#: The longest pause a source can ask for: a day. Anything longer (or not a finite number) is read as this.
MAX_RETRY_AFTER_SECONDS = 86400.0


def _clamped(seconds: float) -> float:
    """``seconds`` within the bounds; ``nan`` (no order at all) reads as the longest pause, the cautious side."""
    if math.isnan(seconds):
        return MAX_RETRY_AFTER_SECONDS
    return min(max(0.0, seconds), MAX_RETRY_AFTER_SECONDS)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait, within ``[0, MAX_RETRY_AFTER_SECONDS]``; ``None`` when absent or unreadable.

    ``now`` (a Unix time) is what an HTTP date is measured from; the current time when not given.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return _clamped(float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # "-0000" dates parse as naive: HTTP dates are always GMT
        moment = moment.replace(tzinfo=UTC)
    return _clamped(moment.timestamp() - (time.time() if now is None else now))


__all__ = ["MAX_RETRY_AFTER_SECONDS", "parse_retry_after"]
