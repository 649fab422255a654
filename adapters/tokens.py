"""The token store contract shared by the source adapters.

Adapters never know where tokens live: the connector persists them in an encrypted column, tests and the
sandboxes keep them in memory. ``save`` must replace the whole token at once, so a crash can never leave a
new access token stored next to a stale refresh token.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Protocol


class TokenStore(Protocol):
    """Where an adapter loads and saves its OAuth token (a JSON-serialisable dict)."""

    def load(self) -> dict[str, Any] | None: ...

    def save(self, token: dict[str, Any]) -> None: ...


class InMemoryTokenStore:
    """A process-local store for tests, the sandboxes and the demo."""

    def __init__(self, token: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._token = copy.deepcopy(token)

    def load(self) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._token)

    def save(self, token: dict[str, Any]) -> None:
        with self._lock:
            self._token = copy.deepcopy(token)
