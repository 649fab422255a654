"""The contract test's case count, kept in the config's stash: per process, summed over xdist workers."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

CONTRACT_CALLS = pytest.StashKey[Counter[str]]()


def add_worker_calls(config: pytest.Config, workeroutput: dict[str, Any]) -> None:
    """Add the cases a pytest-xdist worker counted to the controller's count."""
    calls = workeroutput.get("contract_calls")
    if calls:
        config.stash.setdefault(CONTRACT_CALLS, Counter()).update(calls)


def summary(config: pytest.Config) -> str | None:
    calls = config.stash.get(CONTRACT_CALLS, None)
    if not calls:
        return None
    return (f"schemathesis: {len(calls)} operations, {sum(calls.values())} generated cases (each sent with an "
            "admitted role, and again with a refused one where a token is needed)")
