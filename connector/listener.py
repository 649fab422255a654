"""A worker's ear on PostgreSQL: ``LISTEN connector_wake`` on a connection of its own, in a thread of its own.

Every topic the web tier (or another worker) announces (``connector.wake``) is handed to the worker as it
arrives. The connection survives outages: when it breaks (the database restarted, the network dropped it, a
proxy cut it) the failure is logged on one line and counted, and the listener reconnects, waiting 1 s doubling
to 60 s while it cannot; each (re)connection is reported to the worker, which then looks for work at once, since
notifications sent while nobody listened are lost. A connection that is silent is checked every
``PING_SECONDS`` (a cheap ``SELECT 1``), and libpq's TCP keepalives bound how long a vanished peer goes unnoticed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import URL

try:  # PostgreSQL is an optional extra; a SQLite worker polls instead of listening
    import psycopg
except ImportError:  # pragma: no cover - SQLite-only installs
    psycopg = None  # type: ignore[assignment]

from connector import wake
from connector.db import CONNECT_TIMEOUT_SECONDS
from connector.lanes import backoff

log = logging.getLogger(__name__)

#: seconds a silent listening connection waits before it is checked
PING_SECONDS = 30.0
#: how often the listener looks at its stop signal while no notification comes
TICK_SECONDS = 1.0


def conninfo(url: URL) -> str:
    """libpq's URI for the engine's database (the driver suffix dropped), password included."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """Listens for the workers' wake-up topics until ``stop`` is set; reconnects with backoff on any failure."""

    def __init__(self, url: URL, stop: threading.Event, on_topic: Callable[[str], None],
                 on_connect: Callable[[], None], on_error: Callable[[str, BaseException], None]) -> None:
        self.url, self.stop = url, stop
        self.on_topic, self.on_connect, self.on_error = on_topic, on_connect, on_error
        self.connected = threading.Event()
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="wake-listener", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self._listen()
            except Exception as exc:  # psycopg's errors, and anything else: a listener never dies
                self.connected.clear()
                self.failures += 1
                self.on_error("listen", exc)
                self.stop.wait(backoff(self.failures))

    def _listen(self) -> None:
        options: dict[str, Any] = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                                   "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                                   "keepalives_count": 3}
        with psycopg.connect(conninfo(self.url), **options) as conn:
            conn.execute(f"LISTEN {wake.CHANNEL}")
            if self.failures:
                log.info("wake listener: listening again after %d failed attempt(s)", self.failures)
            self.failures = 0
            self.connected.set()
            self.on_connect()
            quiet_since = time.monotonic()
            while not self.stop.is_set():
                for note in conn.notifies(timeout=TICK_SECONDS):
                    self.on_topic(note.payload)
                    quiet_since = time.monotonic()
                if time.monotonic() - quiet_since >= PING_SECONDS:
                    conn.execute("SELECT 1")
                    quiet_since = time.monotonic()
        self.connected.clear()


__all__ = ["PING_SECONDS", "Listener", "conninfo"]
