"""Run a WSGI app on a free loopback port in a background thread (for receivers and sandboxes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from adapters.loopback import LoopbackServer


@contextmanager
def serve(app: Any) -> Iterator[str]:
    server = LoopbackServer(app, "test-server")
    try:
        yield server.start()
    finally:
        server.stop()
