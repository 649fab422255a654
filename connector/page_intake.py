"""The pure half of a sync page — map, validate, intake, triage and risk, content hash — in a helper process.

Those steps need no database and no Flask app, and they are most of a backfill's CPU. While the sync stores
one page (database, audit chain, outbox: work that must stay in order in the syncing process), a helper
process prepares the next one, so a backfill uses a second core. What the helper returns is exactly what the
syncing process would compute itself (a test compares the two), and any failure of the helper falls back to
preparing the page in the syncing process: the helper can make a sync faster, never different or lossy.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

#: A page smaller than this is prepared in the syncing process (a helper would not pay for its start-up).
MIN_PAGE = 500


@dataclass(frozen=True)
class PageRules:
    """What preparing a page depends on, as plain values a helper process can receive."""

    mapping_key: str  # the mapping document as canonical JSON (``connections.inbound_program``'s cache key)
    policy_text: str
    policy_version: int


@dataclass
class Prepared:
    """One mapped record, validated and assessed as a new request would be."""

    typed: dict[str, Any]
    stored: dict[str, Any]
    errors: dict[str, str]
    digest: str
    values: dict[str, Any]  # assess(): the column values of intake, triage and risk
    summary: dict[str, Any]  # what the request.created audit event says of intake


def prepare(rules: PageRules, raws: Sequence[Any], now: datetime) -> list[Prepared]:
    """Map and assess every record of a page (pure: the same answer in any process)."""
    from connector.governance.normalize import normalize
    from connector.operations import assess, fast_hash

    program, policy = _program(rules.mapping_key), _policy(rules.policy_text, rules.policy_version)
    out: list[Prepared] = []
    for raw in raws:
        mapped = program(raw)
        typed, stored, errors = normalize(mapped.fields)
        errors.update(mapped.errors)
        values, result = assess(typed, errors, policy, now)
        out.append(Prepared(typed, stored, errors, fast_hash(stored, errors), values, {
            "missing": result.missing, "errors": sorted(result.errors),
            "conflicts": [c.code for c in result.conflicts]}))
    return out


def _warm(rules: PageRules) -> None:
    _program(rules.mapping_key)
    _policy(rules.policy_text, rules.policy_version)


@lru_cache(maxsize=8)
def _program(mapping_key: str) -> Any:
    import json

    from connector.governance.fields import GOVERNANCE_FIELDS
    from mappings import compile_inbound, load_mapping

    return compile_inbound(load_mapping(json.loads(mapping_key)), GOVERNANCE_FIELDS)


@lru_cache(maxsize=8)
def _policy(text: str, version: int) -> Any:
    from connector.governance.policy import parse_policy

    return parse_policy(text, version=version)


class PagePreparer:
    """One helper process preparing pages ahead of the syncing process; ``None`` futures mean "do it here"."""

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._broken = processes <= 0

    def warm_up(self, rules: PageRules) -> None:
        """Start the helper and compile the rules there while the first page is stored here."""
        self._call(_warm, rules)

    def submit(self, rules: PageRules, raws: Sequence[Any], now: datetime) -> Future[list[Prepared]] | None:
        if len(raws) < MIN_PAGE:
            return None
        return self._call(prepare, rules, list(raws), now)

    def _call(self, fn: Any, *args: Any) -> Future[Any] | None:
        if self._broken:
            return None
        try:
            if self._pool is None:  # a fresh interpreter: forking a process with threads and sockets is unsafe
                self._pool = ProcessPoolExecutor(self._processes, mp_context=multiprocessing.get_context("spawn"))
            return self._pool.submit(fn, *args)
        except Exception:
            log.warning("page preparation helper unavailable; preparing pages in the syncing process",
                        exc_info=True)
            self._broken = True
            return None

    def result(self, future: Future[list[Prepared]] | None, expected: int) -> list[Prepared] | None:
        """The prepared page, or None (prepare it here) when there was no helper or it failed."""
        if future is None:
            return None
        try:
            prepared = future.result()
        except Exception:
            log.warning("page preparation helper failed; preparing the page in the syncing process", exc_info=True)
            self._broken = True
            return None
        return prepared if len(prepared) == expected else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
