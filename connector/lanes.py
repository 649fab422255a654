"""Delivery lanes: each target (``billing``, ``email``, each ``connection:<name>``) is sent by a thread of its own,
so a target that hangs or times out delays only itself.

Design. The worker's loop asks the database which targets have deliveries due (``delivery.due_targets``) and
hands each target whose lane is idle to a new lane thread. A lane has its own app context (so its own session and
connection), claims only its target's rows (``delivery.claim(targets=[target])``: ``FOR UPDATE SKIP LOCKED``, the
oldest unsent row per (request, target) first, as before), sends them under ``kept_leased`` and records each
outcome exactly as ``delivery.send_claimed`` always has; it claims again until nothing of its target is due, then
ends. One lane per target per process, and the claim's "no earlier pending row" rule across processes, keep the
order per (request, target); leases and exactly-once recording are ``connector.delivery``'s, unchanged.

Each claimed batch runs with a time budget (``CONNECTOR_DELIVERY_LANE_SECONDS``, ``connector.lane_budget``): a
sender that sends row by row (billing) starts no send once it is spent, and the rest of the batch is released
unsent, due again at once. A batch sender (Salesforce Collections, Zendesk ``update_many``) is bounded by the HTTP
timeout of its calls. A lane that fails (the database went away while claiming or recording) is logged and
counted by the worker's error handler and its target backs off (1 s doubling to 60 s) before a new lane starts.

A lane named ``events:<connection id>`` processes that connection's pushed events instead (``sync
.process_connection_events``), woken by the push's notification. A lane asked for while it is running
(``again=True``: a notification about work committed after its last look) runs once more when it ends, so
nothing announced during a lane's last claim waits for the timer. A lane named ``syncs:<connection id>`` runs
that connection's queued syncs (``sync.run_requested``; the web's "Sync now"), page by page, giving its run back
to the queue between two pages when the worker is told to stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from flask import Flask

from connector import delivery, lane_budget, sync, wake
from connector.config import settings
from connector.db import db

#: ``(stage, exception)``: what a lane reports when it fails (the worker logs, counts and remembers it)
ErrorHandler = Callable[[str, BaseException], None]

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0


def backoff(failures: int) -> float:
    """1 s after the first failure in a row, doubling, capped at 60 s."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(0, min(failures, 16) - 1))


class Lanes:
    """The lane threads of one worker process and what they delivered."""

    def __init__(self, app: Flask, stop: threading.Event, on_error: ErrorHandler) -> None:
        self.app = app
        self.stop = stop
        self.on_error = on_error
        self._lock = threading.Lock()
        self._busy: dict[str, threading.Thread] = {}
        self._failures: dict[str, int] = {}
        self._not_before: dict[str, float] = {}
        self._again: set[str] = set()
        self.totals: dict[str, int] = {}
        self.failed = 0  # lanes that ended with an error (``worker --once`` exits 1)

    def dispatch(self, targets: Sequence[str], drain: bool = False, again: bool = False) -> int:
        """Start a lane for each of ``targets`` that has none running and is not backing off; how many started.
        ``drain``: each lane sends what was due when it started, once (``worker --once``). ``again``: a target
        whose lane is running gets one more run when it ends (a notification of work it may have missed)."""
        started = 0
        now = time.monotonic()
        with self._lock:
            for target in targets:
                if target in self._busy and again and not drain:
                    self._again.add(target)
                if target in self._busy or self._not_before.get(target, 0.0) > now or self.stop.is_set():
                    continue
                lane = threading.Thread(target=self._run, args=(target, drain), name=f"lane-{target}", daemon=True)
                self._busy[target] = lane
                lane.start()
                started += 1
        return started

    def busy(self) -> list[str]:
        with self._lock:
            return sorted(self._busy)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the running lanes (each finishes its send in flight, records it and releases the rest)."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            lanes = list(self._busy.values())
        for lane in lanes:
            lane.join(None if end is None else max(0.0, end - time.monotonic()))

    def _run(self, target: str, drain: bool) -> None:
        ok = False
        try:
            with self.app.app_context():
                kind, rest = wake.parse(target)
                try:
                    if kind == wake.EVENTS:  # its counts are the events job's, not deliveries
                        sync.process_connection_events(int(rest))
                    elif kind == wake.SYNCS:  # a queued "Sync now": it stops between pages when the worker stops
                        sync.run_requested(int(rest), should_stop=self.stop.is_set)
                    else:
                        self._add(delivery.drain(targets=[target]) if drain else self._send_while_due(target))
                    ok = True
                except Exception as exc:
                    self.on_error(kind if kind in (wake.EVENTS, wake.SYNCS) else stage_of(exc), exc)
                finally:
                    db.session.remove()
        except Exception as exc:  # the app context itself (the session's removal on a dead connection)
            self.on_error("send", exc)
            ok = False
        finally:
            self._finish(target, ok)

    def _send_while_due(self, target: str) -> dict[str, int]:
        """Claim and send ``target``'s due rows, batch after batch, each batch within the lane's budget."""
        total: dict[str, int] = {}
        seconds = settings().delivery_lane_seconds
        while not self.stop.is_set():
            try:
                rows = delivery.claim(targets=[target])
            except Exception as exc:
                raise _ClaimFailed(str(exc)) from exc
            if not rows:
                break
            with lane_budget.budget(seconds, self.stop):
                counts = delivery.send_claimed(rows)
            for key, value in counts.items():
                total[key] = total.get(key, 0) + value
            if not any(v for k, v in counts.items() if k != lane_budget.UNSENT):
                break  # nothing went out (all held or released): the next round looks again
            db.session.remove()
        return total

    def _add(self, counts: dict[str, int]) -> None:
        with self._lock:
            for key, value in counts.items():
                self.totals[key] = self.totals.get(key, 0) + value

    def _finish(self, target: str, ok: bool) -> None:
        with self._lock:
            self._busy.pop(target, None)
            again = target in self._again
            self._again.discard(target)
            if not ok:
                self.failed += 1
                failures = self._failures[target] = self._failures.get(target, 0) + 1
                self._not_before[target] = time.monotonic() + backoff(failures)
                return  # the timer tries again once the backoff is over
            self._failures.pop(target, None)
            self._not_before.pop(target, None)
        if again:
            self.dispatch([target])


class _ClaimFailed(Exception):
    """The claim of a lane failed (reported under the ``claim`` stage)."""


def stage_of(exc: BaseException) -> str:
    """The stage a lane's failure is counted under."""
    if isinstance(exc, _ClaimFailed):
        return "claim"
    return "record" if isinstance(exc, delivery.RecordFailed) else "send"


__all__ = ["Lanes", "backoff", "stage_of"]
