"""The long-running worker: periodic jobs (SLA, expiry, pushed events, scheduled syncs), deliveries as they fall
due, and a heartbeat, each step its own unit of work. It never exits on its own (``once`` runs one round)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from flask import Flask
from sqlalchemy import CursorResult, delete, text

from connector import audit_anchors, delivery, operations, sync
from connector.db import db, unit_of_work
from connector.models import WorkerHeartbeat, utcnow

log = logging.getLogger(__name__)

JOB_LOCK_IDS = {"sla": 0x4C4558_0101, "expiry": 0x4C4558_0102, "sync": 0x4C4558_0103, "events": 0x4C4558_0104,
                "anchor": 0x4C4558_0105, "heartbeats": 0x4C4558_0106}

#: what ``run_job`` returns for a job that raised (logged with its traceback; the worker goes on)
JOB_FAILED = object()

HEARTBEAT_SECONDS = 10.0
#: a worker unseen this long is gone (a restarted process reports under a new name): its row is deleted
HEARTBEAT_RETENTION = timedelta(days=1)


def run_job(name: str, fn: Callable[[], Any]) -> Any:
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
    except Exception:
        log.exception("periodic job %s failed", name)
        return JOB_FAILED
    finally:
        if lock is not None:
            lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": JOB_LOCK_IDS[name]})
            lock.rollback()
            lock.close()


def periodic_jobs() -> dict[str, Callable[[], Any]]:
    return {"sla": operations.run_sla, "expiry": operations.run_expiry, "events": sync.process_events,
            "sync": sync.sync_due, "anchor": audit_anchors.anchor_head, "heartbeats": prune_heartbeats}


def heartbeat(worker: str, delivered: int) -> None:
    """Record that this worker is alive (its own short unit of work)."""
    with unit_of_work():
        row = db.session.get(WorkerHeartbeat, worker)
        now = utcnow()
        if row is None:
            db.session.add(WorkerHeartbeat(worker=worker, started_at=now, seen_at=now, delivered=delivered))
        else:
            row.seen_at, row.delivered = now, delivered


def prune_heartbeats() -> int:
    """Delete the heartbeats of workers unseen for a day, so they stop piling up on ``/metrics``."""
    cutoff = utcnow() - HEARTBEAT_RETENTION
    pruned = cast(CursorResult[Any],
                  db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < cutoff)))
    return pruned.rowcount


def run_worker(app: Flask, once: bool = False, stop: threading.Event | None = None, poll: float = 1.0,
               job_interval: float = 60.0, failed_jobs: list[str] | None = None) -> dict[str, int]:
    """The worker loop: periodic jobs every ``job_interval`` seconds, deliveries as they fall due. The names of
    jobs that raised are appended to ``failed_jobs`` (``worker --once`` exits 1 for them)."""
    stop = stop or threading.Event()
    totals: dict[str, int] = {}
    last_jobs = last_beat = 0.0
    worker = f"{socket.gethostname()}:{os.getpid()}"
    with app.app_context():
        while not stop.is_set():
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                heartbeat(worker, totals.get("delivered", 0))
                last_beat = time.monotonic()
            if time.monotonic() - last_jobs >= job_interval or once:
                _run_jobs(failed_jobs)
                last_jobs = time.monotonic()
            counts = delivery.drain() if once else delivery.send_claimed(delivery.claim())
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            db.session.remove()
            if once:
                heartbeat(worker, totals.get("delivered", 0))
                break
            if not any(counts.values()):
                stop.wait(poll)
    return totals


def _run_jobs(failed_jobs: list[str] | None) -> None:
    for job, fn in periodic_jobs().items():
        if run_job(job, fn) is JOB_FAILED and failed_jobs is not None:
            failed_jobs.append(job)


__all__ = ["heartbeat", "periodic_jobs", "prune_heartbeats", "run_job", "run_worker"]
