"""The long-running worker: periodic jobs (SLA, expiry, pushed events, the sync schedule), deliveries as they fall
due (one lane per target, ``connector.lanes``), syncs (one lane per connection: the schedule and "Sync now" queue
them, so an hour-long backfill holds up no heartbeat, delivery or reminder), and a heartbeat, each step its own unit
of work.

It never exits on its own. Any exception in a step (the heartbeat, the jobs, finding due targets, a lane's claim,
send or recording), the database's included (connection refused, ``OperationalError``,
``PendingRollbackError``), is logged on one line without secrets, counted in
``connector_worker_errors_total{stage}``, kept as the heartbeat's last error, and the session is thrown away;
the loop then waits 1 s, doubling to 60 s while the failures go on, and resets after a good round. Started while
the database is down, it waits the same way. It stops on SIGTERM/SIGINT (``stop``): no new claims, each lane
finishes the send in flight, records its outcome and releases what it claimed but did not send. ``once`` runs
one round and reports failures (``worker --once`` exits 1 for them).

Wake on change. On PostgreSQL each worker listens (``connector.listener``, a connection of its own) for the
topics committed changes announce (``connector.wake``): a pushed event starts that connection's events lane at
once (``sync.process_connection_events``), a queued delivery its target's lane; the round (heartbeat, jobs, due
targets, events never tried) then runs every ``LISTENING_POLL_SECONDS`` as the safety net, and at once whenever
the listener (re)connects. SQLite has no notifications and one worker: its round runs every
``SQLITE_POLL_SECONDS``, which gives the same behaviour within a quarter of a second.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Flask
from sqlalchemy import CursorResult, delete, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from connector import (
    audit_anchors,
    delivery,
    lanes,
    notifications,
    operations,
    policy_reviews,
    retention,
    sync,
    sync_runs,
    wake,
)
from connector.db import DATABASE_UNAVAILABLE, db, unit_of_work
from connector.listener import Listener
from connector.models import WorkerHeartbeat, utcnow
from connector.observability import WORKER_ERRORS, scrub

log = logging.getLogger(__name__)

JOB_LOCK_IDS = {"sla": 0x4C4558_0101, "expiry": 0x4C4558_0102, "sync": 0x4C4558_0103, "events": 0x4C4558_0104,
                "anchor": 0x4C4558_0105, "heartbeats": 0x4C4558_0106, "policy_review": 0x4C4558_0107,
                "digests": 0x4C4558_0112, "retention": 0x4C4558_0113}

#: what ``run_job`` returns for a job that raised (logged with its traceback; the worker goes on)
JOB_FAILED = object()

HEARTBEAT_SECONDS = 10.0
#: a worker unseen this long is gone (a restarted process reports under a new name): its row is deleted
HEARTBEAT_RETENTION = timedelta(days=1)
#: how long a stopping worker waits for its lanes (a send in flight ends within the HTTP timeout)
STOP_GRACE_SECONDS = 120.0

#: seconds between rounds when nothing wakes the worker: on PostgreSQL notifications wake it (the timer is the
#: safety net, and the retry clock of deliveries that failed); SQLite has no notifications, so it polls
LISTENING_POLL_SECONDS = 5.0
SQLITE_POLL_SECONDS = 0.25

ErrorHandler = Callable[[str, BaseException], None]


def describe(exc: BaseException) -> str:
    """One line naming an error, fit for a log and the heartbeat: a database error by its driver's first line
    (never the statement or its parameters), anything else by its first line; credentials masked."""
    words = str(exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc).strip()
    line = f"{type(exc).__name__}: {words.splitlines()[0] if words else ''}".rstrip(": ")
    if exc.__cause__ is not None and not isinstance(exc, DBAPIError):
        line += f" ({describe(exc.__cause__)})"
    return scrub(line)[:500]


def _database_error(exc: BaseException) -> bool:
    """A database error (or one caused by it): its text and traceback carry the statement and its parameters,
    so it is logged as one line; anything else is a bug and keeps its traceback."""
    return (isinstance(exc, (SQLAlchemyError, *DATABASE_UNAVAILABLE))
            or isinstance(exc.__cause__, SQLAlchemyError))


def run_job(name: str, fn: Callable[[], Any], on_error: ErrorHandler | None = None) -> Any:
    """Run a periodic job unless another worker is running it; ``JOB_FAILED`` when it raised.

    On PostgreSQL a session-level advisory lock is held on a connection of its own for the whole job, which
    may commit many times (a sync commits per page); SQLite has one worker.
    """
    lock = None
    if db.engine.dialect.name == "postgresql":
        lock = db.engine.connect()
        if not lock.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": JOB_LOCK_IDS[name]}).scalar():
            lock.close()
            return None
    try:
        with unit_of_work():
            return fn()
    except Exception as exc:
        if on_error is None:
            log.exception("periodic job %s failed", name)
        else:
            on_error(f"jobs:{name}", exc)
        return JOB_FAILED
    finally:
        db.session.remove()
        if lock is not None:
            _unlock(lock, name)


def _unlock(lock: Any, name: str) -> None:
    """Release a job's advisory lock; a connection the database dropped has lost it already."""
    try:
        lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": JOB_LOCK_IDS[name]})
        lock.rollback()
    except DBAPIError:
        lock.invalidate()
    finally:
        lock.close()


def periodic_jobs() -> dict[str, Callable[[], Any]]:
    return {"sla": operations.run_sla, "expiry": operations.run_expiry, "events": sync.process_events,
            "sync": sync.queue_due, "anchor": audit_anchors.anchor_head, "heartbeats": prune_heartbeats,
            "policy_review": policy_reviews.run_reviews, "digests": notifications.run_digests,
            "retention": retention.run}


def heartbeat(worker: str, delivered: int, error: tuple[str, datetime] | None = None) -> None:
    """Record that this worker is alive, with its last error if it had one (its own short unit of work)."""
    with unit_of_work():
        row = db.session.get(WorkerHeartbeat, worker)
        now = utcnow()
        if row is None:
            row = WorkerHeartbeat(worker=worker, started_at=now, seen_at=now, delivered=delivered)
            db.session.add(row)
        row.seen_at, row.delivered = now, delivered
        if error is not None:
            row.last_error, row.last_error_at = error


def prune_heartbeats() -> int:
    """Delete the heartbeats of workers unseen for a day, so they stop piling up on ``/metrics``."""
    cutoff = utcnow() - HEARTBEAT_RETENTION
    pruned = cast(CursorResult[Any],
                  db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < cutoff)))
    return pruned.rowcount


class Worker:
    """One worker process's loop: its name, its lanes, its failures in a row and its last error."""

    def __init__(self, app: Flask, stop: threading.Event, poll: float | None, job_interval: float,
                 failed_jobs: list[str] | None) -> None:
        self.app, self.stop, self.poll, self.job_interval = app, stop, poll, job_interval
        self.failed_jobs = failed_jobs
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.lanes = lanes.Lanes(app, stop, self.report)
        self.last_error: tuple[str, datetime] | None = None
        self._lock = threading.Lock()
        self.failures = self.job_failures = 0
        self.collect_failures = False  # ``once``: the caller exits 1 for failed jobs
        self.next_beat = self.next_jobs = 0.0
        self.wake = threading.Event()  # set by the listener (a topic, a reconnection) and by ``stop``
        self._topics: set[str] = set()
        self._round_now = False
        self.listener: Listener | None = None

    def report(self, stage: str, exc: BaseException) -> None:
        """Log (one line; a traceback only for what is not a database error), count, and remember an error."""
        summary = describe(exc)
        WORKER_ERRORS.labels(stage.split(":", 1)[0]).inc()
        with self._lock:
            self.last_error = (f"{stage}: {summary}", utcnow())
        log.error("worker %s failed, retrying with backoff: %s", stage, summary,
                  exc_info=None if _database_error(exc) else exc)

    def heard(self, topic: str) -> None:
        """A topic from the listener: acted on by the loop at once."""
        with self._lock:
            self._topics.add(topic)
        self.wake.set()

    def reconnected(self) -> None:
        """The listener (re)connected: notifications sent meanwhile are lost, so a full round runs now."""
        with self._lock:
            self._round_now = True
        self.wake.set()

    def run(self) -> dict[str, int]:
        with self.app.app_context():
            listening = self._start_listener()
            poll = self.poll if self.poll is not None else (
                LISTENING_POLL_SECONDS if listening else SQLITE_POLL_SECONDS)
            threading.Thread(target=self._wake_on_stop, name="worker-stop", daemon=True).start()
            next_round = 0.0
            while not self.stop.is_set():
                if self._act_on_topics():
                    next_round = 0.0
                if time.monotonic() >= next_round:
                    if self.round():
                        self.failures = 0
                        next_round = time.monotonic() + poll
                    else:
                        self.failures += 1
                        wait = lanes.backoff(self.failures)
                        log.warning("worker: %d failed round(s) in a row, next in %g s", self.failures, wait)
                        next_round = time.monotonic() + wait
                self.wake.wait(max(0.0, next_round - time.monotonic()))
                self.wake.clear()
            self.lanes.join(STOP_GRACE_SECONDS)
            if self.listener is not None:
                self.listener.join(2 * lanes.BACKOFF_FIRST_SECONDS)
            self._step("heartbeat", self._beat)
        return dict(self.lanes.totals)

    def _start_listener(self) -> bool:
        """Listen for wake-up topics on PostgreSQL; False on SQLite (which polls instead)."""
        if db.engine.dialect.name != "postgresql":
            return False
        self.listener = Listener(db.engine.url, self.stop, self.heard, self.reconnected, self.report).start()
        return True

    def _wake_on_stop(self) -> None:
        self.stop.wait()
        self.wake.set()

    def _act_on_topics(self) -> bool:
        """Start the lanes the topics heard name (a lane already running runs once more); True when a full
        round is due now (the listener reconnected)."""
        with self._lock:
            topics, self._topics = self._topics, set()
            round_now, self._round_now = self._round_now, False
        targets: list[str] = []
        for topic in sorted(topics):
            kind, rest = wake.parse(topic)
            if kind == wake.DELIVERIES or (kind in (wake.EVENTS, wake.SYNCS) and rest.isdigit()):
                targets.append(rest if kind == wake.DELIVERIES else topic)
        if targets:
            self.lanes.dispatch(targets, again=True)
        return round_now

    def once(self) -> dict[str, int]:
        """One round, failures reported: jobs, then everything due drained (one lane per target), heartbeats."""
        self.collect_failures = True
        self._beat()
        self._run_jobs()
        syncs = [f"{wake.SYNCS}:{conn_id}" for conn_id in sync_runs.connections_with_requests()]
        self.lanes.dispatch([*delivery.due_targets(), *syncs], drain=True)
        db.session.remove()
        self.lanes.join()
        if self.lanes.failed and self.failed_jobs is not None:  # a lane's error was reported (logged) already
            self.failed_jobs.append("deliveries")
        self._beat()
        return dict(self.lanes.totals)

    def round(self) -> bool:
        """Heartbeat and jobs when due, then a lane for each target with deliveries due; ``False`` on an error."""
        ok = self._step("heartbeat", self._beat_if_due)
        ok = self._step("jobs", self._jobs_if_due) and ok
        return self._step("claim", self._dispatch) and ok

    def _step(self, stage: str, fn: Callable[[], Any]) -> bool:
        try:
            fn()
            return True
        except Exception as exc:
            self.report(stage, exc)
            return False
        finally:
            try:
                db.session.remove()
            except Exception as exc:  # the connection died under the session: nothing of it is left to keep
                log.debug("session removal failed: %s", describe(exc))

    def _beat(self) -> None:
        with self._lock:
            error = self.last_error
        heartbeat(self.name, self.lanes.totals.get("delivered", 0), error)

    def _beat_if_due(self) -> None:
        if time.monotonic() >= self.next_beat:
            self._beat()
            self.next_beat = time.monotonic() + HEARTBEAT_SECONDS

    def _jobs_if_due(self) -> None:
        if time.monotonic() < self.next_jobs:
            return
        self.next_jobs = time.monotonic() + lanes.BACKOFF_FIRST_SECONDS  # if the jobs' lock cannot be taken
        if self._run_jobs():
            self.job_failures = 0
            self.next_jobs = time.monotonic() + self.job_interval
        else:  # a failed job (a sync the database dropped) runs again soon, backing off while it keeps failing
            self.job_failures += 1
            self.next_jobs = time.monotonic() + min(self.job_interval, lanes.backoff(self.job_failures))

    def _run_jobs(self) -> bool:
        ok = True
        for job, fn in periodic_jobs().items():
            if run_job(job, fn, self.report) is JOB_FAILED:
                ok = False
                if self.collect_failures and self.failed_jobs is not None:
                    self.failed_jobs.append(job)
        return ok

    def _dispatch(self) -> None:
        """A lane for each target with deliveries due, for each connection with pushed events never tried and for
        each with a sync queued (a notification missed, or SQLite's poll)."""
        targets = delivery.due_targets()
        events = [f"{wake.EVENTS}:{conn_id}" for conn_id in sync.connections_with_new_events()]
        syncs = [f"{wake.SYNCS}:{conn_id}" for conn_id in sync_runs.connections_with_requests()]
        db.session.remove()
        self.lanes.dispatch([*targets, *events, *syncs])


def run_worker(app: Flask, once: bool = False, stop: threading.Event | None = None, poll: float | None = None,
               job_interval: float = 60.0, failed_jobs: list[str] | None = None) -> dict[str, int]:
    """The worker loop: periodic jobs every ``job_interval`` seconds, deliveries and pushed events as they are
    announced (and at least every ``poll`` seconds: by default 5 s listening on PostgreSQL, 0.25 s on SQLite),
    until ``stop`` is set. The names of jobs that raised are appended to ``failed_jobs`` (``worker --once`` exits 1
    for them)."""
    worker = Worker(app, stop or threading.Event(), poll, job_interval, failed_jobs)
    if once:
        with app.app_context():
            return worker.once()
    return worker.run()


__all__ = ["Worker", "describe", "heartbeat", "periodic_jobs", "prune_heartbeats", "run_job", "run_worker"]
