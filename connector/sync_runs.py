"""Sync runs: each sync's row (who started it, its state, how far it got), kept so any page or process can follow
it with a progress bar, a total and an ETA.

The web's "Sync now" queues a run (``request``) and wakes the workers (topic ``syncs:<connection id>``); a worker
claims it (``claim``: an update conditioned on the state, so two workers never run the same row) and runs the
sync, which updates the row with each committed page (``progress``, in the page's own transaction). The API, the
CLI and the schedule record their runs the same way as they run (``start``). A run whose process died leaves a
``running`` row that no page updates any more: after ``STALE_AFTER`` it is claimed again (the sync resumes from the
page watermark, so nothing is fetched twice in vain) until ``MAX_ATTEMPTS``, then shown as ``interrupted``. A
worker told to stop puts its run back in the queue between two pages (``requeue``). Each claim writes the claiming
process (``owner()``) on the row: a worker whose database went away mid-run (even during the claim's commit, when
it cannot know whether the claim took) finds its own ``running`` runs by that and goes on with them as soon as the
database returns, instead of leaving them to the stale-run timeout.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, func, or_, select, update
from sqlalchemy.sql import ColumnElement

from connector import audit, wake
from connector.db import db, unit_of_work
from connector.models import Connection, SyncRun, utcnow

QUEUED, RUNNING, COMPLETED, STOPPED, INTERRUPTED = "queued", "running", "completed", "stopped", "interrupted"
ACTIVE_STATES = (QUEUED, RUNNING)
TRIGGERS = ("web", "api", "cli", "schedule")
#: a running sync with no page committed for this long was cut short (a page takes seconds, a rate-limit wait
#: at most ``max_retry_wait``)
STALE_AFTER = timedelta(minutes=5)
#: claims of one run before it is left ``interrupted`` (a sync that kills its worker every time)
MAX_ATTEMPTS = 3
#: finished runs are kept this long (the schedule makes one per connection per interval)
RETENTION = timedelta(days=30)
#: the counts a run adds up over its attempts (a run given back or cut short goes on in a new attempt)
OUTCOMES = ("fetched", "created", "updated", "unchanged", "needs_info", "changed_after_decision", "withdrawn",
            "disputed", "pages", "http_calls")


_owner: tuple[int, str] | None = None


def owner() -> str:
    """This process, as written on the runs it claims: host, pid and a nonce (a pid is reused after a restart, and a
    forked child is another process)."""
    global _owner
    pid = os.getpid()
    if _owner is None or _owner[0] != pid:
        _owner = (pid, f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}")
    return _owner[1]


def _ours() -> ColumnElement[bool]:
    """Running runs this process claimed: it was running them when its database went away (in one process a
    connection's syncs run in one lane, so none of them is under way while its lane claims)."""
    return and_(SyncRun.state == RUNNING, SyncRun.claimed_by == owner())


def _not_ours() -> ColumnElement[bool]:
    return or_(SyncRun.claimed_by.is_(None), SyncRun.claimed_by != owner())


def _stale_running() -> ColumnElement[bool]:
    return and_(SyncRun.state == RUNNING, SyncRun.heartbeat_at < utcnow() - STALE_AFTER)


def _live() -> ColumnElement[bool]:
    """Queued, or running and heard of lately."""
    return or_(SyncRun.state == QUEUED, and_(SyncRun.state == RUNNING, SyncRun.heartbeat_at >= utcnow() - STALE_AFTER))


def active(conn_id: int) -> SyncRun | None:
    """The connection's queued or running sync, if any (the oldest first)."""
    return db.session.scalars(select(SyncRun).where(SyncRun.connection_id == conn_id, _live())
                              .order_by(SyncRun.id).limit(1)).first()


def running(conn_id: int) -> bool:
    """Whether another process runs a sync of the connection now (a page stored lately), wherever it was started
    (this process's own ``running`` runs were cut short: its lane claims them again)."""
    return db.session.scalar(select(SyncRun.id).where(
        SyncRun.connection_id == conn_id, SyncRun.state == RUNNING, _not_ours(),
        SyncRun.heartbeat_at >= utcnow() - STALE_AFTER).limit(1)) is not None


def busy_connections() -> ColumnElement[bool]:
    """A condition on ``Connection.id``: the connection has a sync queued or running (the schedule leaves it be)."""
    return Connection.id.in_(select(SyncRun.connection_id).where(_live()))


def request(conn: Connection, actor: str, trigger: str = "web") -> tuple[SyncRun, bool]:
    """Queue a sync of ``conn`` for a worker, in the caller's transaction; or the sync already queued or running
    (``False``: nothing new), so pressing "Sync now" twice runs one sync."""
    running = active(conn.id)
    if running is not None:
        return running, False
    run = SyncRun(connection_id=conn.id, state=QUEUED, trigger=trigger, requested_by=actor, requested_at=utcnow(),
                  attempts=0, examined=0, counts={})
    db.session.add(run)
    db.session.flush()
    if trigger != "schedule":  # a person asked (the schedule's every interval would flood the log)
        audit.append(actor, "sync.requested", f"connection:{conn.name}", {"run": run.id, "trigger": trigger})
    wake.announce(f"{wake.SYNCS}:{conn.id}")
    return run, True


def start(conn_id: int, actor: str, trigger: str) -> int:
    """A run for a sync starting now in this process (API, CLI, schedule), committed before its first page."""
    now = utcnow()
    with unit_of_work():
        run = SyncRun(connection_id=conn_id, state=RUNNING, trigger=trigger, requested_by=actor, requested_at=now,
                      started_at=now, heartbeat_at=now, attempts=1, examined=0, counts={})
        db.session.add(run)
        db.session.flush()
        return int(run.id)


def claim(conn_id: int) -> SyncRun | None:
    """Take the connection's oldest queued run (or one a dead process left running, or one of this process's own
    that the database's going away cut short) for this worker: the update is conditioned on the state it was read
    in, so of two workers only one gets it, and it names the claiming process. A run claimed ``MAX_ATTEMPTS``
    times already is left ``interrupted`` instead."""
    with unit_of_work():
        if running(conn_id):  # another sync of this connection is under way: this one waits its turn
            return None
        candidates = list(db.session.scalars(
            select(SyncRun).where(SyncRun.connection_id == conn_id,
                                  or_(SyncRun.state == QUEUED, _stale_running(), _ours()))
            .order_by(SyncRun.id)))
        for run in candidates:
            was = (run.id, run.state, run.heartbeat_at)
            now = utcnow()
            condition = and_(SyncRun.id == was[0], SyncRun.state == was[1],
                             SyncRun.heartbeat_at.is_(None) if was[2] is None else SyncRun.heartbeat_at == was[2])
            if run.attempts >= MAX_ATTEMPTS:
                db.session.execute(update(SyncRun).where(condition).values(
                    state=INTERRUPTED, finished_at=now,
                    message=f"Gave up after {run.attempts} attempts: each time the process running it stopped "
                            "mid-way. The next scheduled sync goes on from the last page stored."))
                continue
            taken = cast(CursorResult[Any], db.session.execute(update(SyncRun).where(condition).values(
                state=RUNNING, started_at=run.started_at or now, heartbeat_at=now, attempts=run.attempts + 1,
                message=None, claimed_by=owner(),
                counts={"carried": carried(run)} if run.examined or run.counts else {})))
            if taken.rowcount == 1:
                db.session.flush()
                db.session.refresh(run)
                return run
    return None


def carried(run: SyncRun) -> dict[str, int]:
    """What the run's earlier attempts went through, which its next attempt adds to."""
    counts = run.counts or {}
    return {"examined": int(run.examined or 0), **{key: int(counts.get(key) or 0) for key in OUTCOMES}}


def combined(counts: Mapping[str, Any], before: Mapping[str, Any] | None) -> dict[str, Any]:
    """This attempt's counts added to the earlier attempts' (kept under ``carried``)."""
    if not before:
        return dict(counts)
    out = dict(counts)
    for key in OUTCOMES:
        out[key] = int(counts.get(key) or 0) + int(before.get(key) or 0)
    out["carried"] = dict(before)
    return out


def progress(run_id: int, counts: Mapping[str, Any], examined: int, total: int | None,
             before: Mapping[str, Any] | None = None) -> None:
    """A page was stored: how far the run got (in the page's transaction, so the bar never runs ahead). An attempt
    that goes on from an earlier one (``before``) starts its bar where that one left it."""
    offset = int((before or {}).get("examined") or 0)
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
        examined=offset + examined, total=None if total is None else offset + total,
        counts=combined(counts, before), heartbeat_at=utcnow()))


def finish(run_id: int, state: str, counts: Mapping[str, Any], message: str | None = None,
           before: Mapping[str, Any] | None = None) -> None:
    """The run ended (``completed``, ``stopped`` with the source's reason, ``interrupted``), in the caller's
    transaction."""
    now = utcnow()
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
        state=state, finished_at=now, heartbeat_at=now, counts=combined(counts, before), message=message))


def requeue(run_id: int, counts: Mapping[str, Any], message: str, before: Mapping[str, Any] | None = None, *,
            graceful: bool = False) -> None:
    """Give a claimed run back: the next worker goes on from the last page stored. ``graceful``: its worker is
    stopping, which is no failed attempt (a backfill may see several deployments)."""
    with unit_of_work():
        db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
            state=QUEUED, counts=combined(counts, before), message=message, heartbeat_at=utcnow(), claimed_by=None,
            attempts=SyncRun.attempts - 1 if graceful else SyncRun.attempts))
        conn_id = db.session.scalar(select(SyncRun.connection_id).where(SyncRun.id == run_id))
        wake.announce(f"{wake.SYNCS}:{conn_id}")


def connections_with_requests() -> list[int]:
    """Connections with a run waiting for this worker: queued, left running by a process that died, or cut short in
    this process by the database's going away."""
    return sorted(db.session.scalars(select(SyncRun.connection_id).where(
        or_(SyncRun.state == QUEUED, _stale_running(), _ours())).distinct()))


def latest(conn_ids: Iterable[int]) -> dict[int, SyncRun]:
    """Each connection's most recent run (a live one before a finished one)."""
    ids = list(conn_ids)
    if not ids:
        return {}
    newest = (select(SyncRun.connection_id, func.max(SyncRun.id).label("id"))
              .where(SyncRun.connection_id.in_(ids)).group_by(SyncRun.connection_id).subquery())
    found = {run.connection_id: run for run in db.session.scalars(
        select(SyncRun).join(newest, SyncRun.id == newest.c.id))}
    for run in db.session.scalars(select(SyncRun).where(SyncRun.connection_id.in_(ids), _live())
                                  .order_by(SyncRun.id.desc())):
        found[run.connection_id] = run
    return found


def prune() -> int:
    """Delete finished runs older than ``RETENTION`` (the schedule adds one per connection per interval)."""
    cutoff = utcnow() - RETENTION
    gone = cast(CursorResult[Any], db.session.execute(delete(SyncRun).where(
        SyncRun.state.not_in(ACTIVE_STATES), SyncRun.requested_at < cutoff)))
    return gone.rowcount


#: the bar stops short of full until the run says it is done (a total is the source's estimate: Zendesk's count
#: is approximate, and records changed meanwhile add to Salesforce's)
MAX_RUNNING_PERCENT = 99.0


def eta_seconds(examined: int, total: int | None, started: datetime | None, heard: datetime | None,
                now: datetime) -> float | None:
    """Seconds left at the run's rate so far (records per second between its start and its last page), counted
    from now; None until a page has been stored or without a total."""
    if total is None or started is None or heard is None or examined <= 0:
        return None
    elapsed = (heard - started).total_seconds()
    if elapsed <= 0:
        return None
    remaining = max(0, total - examined)
    return max(0.0, remaining / (examined / elapsed) - (now - heard).total_seconds())


def percent(examined: int, total: int | None, state: str) -> float | None:
    """How far the bar is: 100 only once completed; None while there is no total (or nothing started)."""
    if state == COMPLETED:
        return 100.0
    if not total or state == QUEUED:
        return None
    return min(MAX_RUNNING_PERCENT, 100.0 * examined / total)


def stale(run: SyncRun, now: datetime) -> bool:
    """Running, but no page stored for ``STALE_AFTER``: the process running it has probably stopped."""
    return run.state == RUNNING and run.heartbeat_at is not None and now - run.heartbeat_at > STALE_AFTER


def as_dict(run: SyncRun, connection: str, now: datetime) -> dict[str, Any]:
    """A run as the API answers it (and the page's script polls it, with words added)."""
    examined = int(run.examined or 0)
    eta = eta_seconds(examined, run.total, run.started_at, run.heartbeat_at, now) if run.state == RUNNING else None
    return {
        "id": run.id, "connection": connection, "state": run.state,
        "live": run.state in ACTIVE_STATES and not stale(run, now), "trigger": run.trigger,
        "requested_by": run.requested_by, "requested_at": run.requested_at, "started_at": run.started_at,
        "finished_at": run.finished_at, "heartbeat_at": run.heartbeat_at, "attempts": run.attempts,
        "examined": examined, "total": run.total, "percent": percent(examined, run.total, run.state),
        "eta_seconds": None if eta is None else round(eta, 1),
        "counts": {key: value for key, value in (run.counts or {}).items() if key != "carried"},
        "message": run.message,
    }


__all__ = [
    "ACTIVE_STATES",
    "COMPLETED",
    "INTERRUPTED",
    "MAX_ATTEMPTS",
    "OUTCOMES",
    "QUEUED",
    "RUNNING",
    "STALE_AFTER",
    "STOPPED",
    "TRIGGERS",
    "active",
    "as_dict",
    "busy_connections",
    "carried",
    "claim",
    "combined",
    "connections_with_requests",
    "eta_seconds",
    "finish",
    "latest",
    "owner",
    "percent",
    "progress",
    "prune",
    "request",
    "requeue",
    "running",
    "stale",
    "start",
]
