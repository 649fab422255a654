"""Pull from a source → map → governance intake → store, one committed page at a time.

The watermark advances only after a page's requests, audit events and deliveries are committed, so a crash
re-reads at most one page (and re-reading is idempotent). No transaction is open while the adapter talks
HTTP, so a token refresh can commit on its own and a slow API never holds database locks.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased

from connector import audit, connections, operations, push_governance, sync_runs, wake
from connector.config import settings
from connector.db import db, released, unit_of_work
from connector.governance.normalize import normalize
from connector.governance.states import DISPUTABLE_STATES, OPEN_STATES, RequestState
from connector.models import Connection, ExceptionRequest, InboundEvent, Watermark, utcnow
from connector.observability import SYNC_RECORDS, SYNC_RUNS
from connector.sources import (
    ConnectionContext,
    PushEvent,
    SourceError,
    SourceKind,
    SourcePage,
    SourceRecord,
    get_kind,
)

log = logging.getLogger(__name__)
MAIN_STREAM = "main"


@dataclass
class SyncCounts:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    needs_info: int = 0
    changed_after_decision: int = 0
    withdrawn: int = 0
    disputed: int = 0
    pages: int = 0
    http_calls: int = 0
    stopped: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def examined(counts: SyncCounts) -> int:
    """Records the sync has gone through: fetched, and those a source skipped (already seen, not flagged); what
    a progress bar measures against the source's ``detail["total"]``."""
    return counts.fetched + sum(int(counts.detail.get(k) or 0) for k in ("skipped_already_seen",
                                                                         "skipped_not_flagged"))


def ingest(conn: Connection, records: Iterable[SourceRecord], counts: SyncCounts, actor: str) -> None:
    """Map and submit records; unmappable values become field errors (``needs_info``), never a lost record."""
    version, program, _doc = connections.inbound_program(conn)
    batch: list[operations.Submission] = []
    disputes: list[SourceRecord] = []
    for record in records:
        counts.fetched += 1
        if record.deleted:
            _source_deleted(conn, record, counts, actor)
            continue
        if record.dispute:
            disputes.append(record)
        mapped = program(record.raw)
        typed, stored, errors = normalize(mapped.fields)
        errors.update(mapped.errors)
        batch.append(operations.Submission(record.external_id, typed, stored, errors, record.external_url,
                                           record.raw))
    for outcome, state in operations.submit_many(batch, source=conn.kind, connection=conn,
                                                 mapping_version=version, actor=actor):
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        if outcome in ("created", "updated") and state == RequestState.NEEDS_INFO:
            counts.needs_info += 1
    for record in disputes:
        _source_dispute(conn, record, counts, actor)


def _source_dispute(conn: Connection, record: SourceRecord, counts: SyncCounts, actor: str) -> None:
    """A dispute raised in the source (e.g. a Zendesk tag) reopens a decided request, once."""
    req = db.session.scalar(select(ExceptionRequest).where(
        ExceptionRequest.dedupe_key == operations.dedupe_key(conn, record.external_id)))
    if req is None or req.state not in DISPUTABLE_STATES:
        return  # nothing decided to dispute, or already back in review
    operations.dispute(req, actor, record.dispute or f"disputed in {conn.kind}", channel=conn.kind)
    counts.disputed += 1


def _source_deleted(conn: Connection, record: SourceRecord, counts: SyncCounts, actor: str) -> None:
    req = db.session.scalar(select(ExceptionRequest).where(
        ExceptionRequest.dedupe_key == operations.dedupe_key(conn, record.external_id)))
    if req is None:
        return
    if req.state in OPEN_STATES:
        operations.withdraw(req, actor, f"deleted in {conn.kind}")
        counts.withdrawn += 1
    elif not req.changed_after_decision:
        req.changed_after_decision = True
        audit.append(actor, "request.source_deleted", operations.subject(req), {"key": req.key, "state": req.state})


_DONE = object()


def prefetched(pages: Iterator[SourcePage], depth: int = 1) -> Iterator[SourcePage]:
    """Fetch the next page in a background thread while the current one is stored (HTTP overlaps the database).

    Pages still arrive in order, one at a time; an error in the fetching thread is raised here, in order.
    """
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        slots.put(page, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            slots.put(exc)

    thread = threading.Thread(target=fetch, name="sync-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


@contextmanager
def few_collections(threshold: int = 500_000) -> Iterator[None]:
    """Fewer cyclic-GC passes while pages are ingested.

    A backfill allocates millions of short-lived, acyclic containers (records, mapped fields, rows), which
    reference counting frees; with the default thresholds the collector's passes over them, and over everything
    the application holds, cost more than half of the pipeline's CPU. The objects alive at the start are frozen
    out of collection and collections run less often (at 500,000 new objects: 0.03 s of collection in a
    40,000-record backfill, against 0.33 s at 50,000); both are restored afterwards.
    """
    global _relaxed, _saved_threshold
    with _gc_lock:  # syncs may overlap in one process: the first in relaxes, the last out restores
        if _relaxed == 0:
            _saved_threshold = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_saved_threshold[0], threshold), *_saved_threshold[1:])
        _relaxed += 1
    try:
        yield
    finally:
        with _gc_lock:
            _relaxed -= 1
            if _relaxed == 0:
                gc.set_threshold(*_saved_threshold)
                gc.unfreeze()


_gc_lock = threading.Lock()
_relaxed = 0
_saved_threshold: tuple[int, ...] = gc.get_threshold()


def load_watermark(conn_id: int, stream: str = MAIN_STREAM) -> dict[str, Any] | None:
    row = db.session.get(Watermark, (conn_id, stream))
    return dict(row.value) if row else None


def store_watermark(conn_id: int, value: dict[str, Any], stream: str = MAIN_STREAM) -> None:
    row = db.session.get(Watermark, (conn_id, stream))
    if row is None:
        db.session.add(Watermark(connection_id=conn_id, stream=stream, value=value, updated_at=utcnow()))
    else:
        row.value = value


def sync(name: str, actor: str = "sync", progress: Callable[[SyncCounts], None] | None = None, *,
         trigger: str = "api", run_id: int | None = None, should_stop: Callable[[], bool] | None = None,
         before: Mapping[str, Any] | None = None) -> SyncCounts:
    """Sync one connection now; returns what happened (a stop reason instead of an exception).

    The run is recorded (``connector.sync_runs``) and updated with each committed page, so any page or process can
    follow it: ``run_id`` is a run a worker claimed (a queued "Sync now"; ``before``: what its earlier attempts went
    through), otherwise one is started here for ``trigger``. ``should_stop`` is asked between pages: when it says
    so (the worker is stopping) the run goes back in the queue, to go on from the last page stored."""
    conn = connections.find(name)
    if conn is None:
        raise LookupError(name)
    counts = SyncCounts()
    conn_id = conn.id
    status, status_detail = conn.status, conn.status_detail
    claimed = run_id is not None
    if run_id is None:
        run_id = sync_runs.start(conn_id, actor, trigger)
    if status in ("needs_authorization",):
        counts.stopped = f"connection is {status}: {status_detail or 'authorize it first'}"
        with unit_of_work():
            sync_runs.finish(run_id, sync_runs.STOPPED, counts.to_dict(), counts.stopped, before)
        return counts
    try:
        return _run(name, conn_id, run_id, counts, actor, progress, should_stop, before)
    except BaseException as exc:  # the database or the process gave way: the row says so if it still can
        db.session.rollback()
        _cut_short(run_id, conn_id, counts, exc, before, claimed=claimed)
        raise


def _cut_short(run_id: int, conn_id: int, counts: SyncCounts, exc: BaseException, before: Mapping[str, Any] | None,
               *, claimed: bool) -> None:
    """A sync that raised: a worker's run goes back in the queue (a worker goes on from the last page stored, three
    attempts at most); one the API or the CLI started ends ``interrupted``. When the database cannot be told, the
    worker's run stays ``running`` under this process's name, and its lane takes it up again once the database
    returns (``sync_runs.claim``)."""
    message = (f"cut short after {counts.pages} page(s) by {type(exc).__name__}; it goes on from the last page "
               "stored")
    try:
        if claimed:
            sync_runs.requeue(run_id, counts.to_dict(), message, before)
        else:
            with unit_of_work():
                sync_runs.finish(run_id, sync_runs.INTERRUPTED, counts.to_dict(), message[0].upper() + message[1:],
                                 before)
    except Exception as inner:
        log.debug("could not record the end of sync run %s of connection %s: %s", run_id, conn_id,
                  type(inner).__name__)


def _run(name: str, conn_id: int, run_id: int, counts: SyncCounts, actor: str,
         progress: Callable[[SyncCounts], None] | None, should_stop: Callable[[], bool] | None,
         before: Mapping[str, Any] | None) -> SyncCounts:
    conn = db.session.get(Connection, conn_id)
    assert conn is not None
    kind = get_kind(conn.kind)
    ctx = connections.context(conn)
    watermark = load_watermark(conn_id)
    with released():  # no transaction open while the source talks HTTP (the pages are fetched in the background)
        pages = prefetched(kind.pages(ctx, watermark))
    try:
        with few_collections():
            for page in pages:
                with unit_of_work():  # each page commits with its watermark and the run's progress
                    _store_page(conn_id, page, counts, actor)
                    sync_runs.progress(run_id, counts.to_dict(), examined(counts), _total(counts), before)
                if progress:
                    progress(counts)
                if should_stop is not None and should_stop():
                    counts.stopped = (f"the worker is stopping: {counts.pages} page(s) stored, the rest waits for "
                                      "the next worker")
                    sync_runs.requeue(run_id, counts.to_dict(), counts.stopped, before, graceful=True)
                    return counts
    except SourceError as exc:
        db.session.rollback()
        counts.stopped = exc.message
        with unit_of_work():
            connections.set_status(conn_id, exc.status, exc.message)
            sync_runs.finish(run_id, sync_runs.STOPPED, counts.to_dict(), exc.message, before)
        _observe(name, counts, exc.status)
        return counts
    _observe(name, counts, "ok")
    conn = db.session.get(Connection, conn_id)
    assert conn is not None
    if conn.status != "connected":
        with released():  # set_status writes on its own connection: SQLite would wait on this session's lock
            connections.set_status(conn_id, "connected", None)
    with unit_of_work():
        audit.append(actor, "sync.completed", f"connection:{name}",
                     {k: v for k, v in counts.to_dict().items() if k != "detail"})
        sync_runs.finish(run_id, sync_runs.COMPLETED, counts.to_dict(), None, before)
    return counts


def _total(counts: SyncCounts) -> int | None:
    """The source's count of what the sync goes through (Salesforce's totalSize, Zendesk's ticket count)."""
    total = counts.detail.get("total")
    return int(total) if isinstance(total, int | float) and not isinstance(total, bool) else None


def run_requested(conn_id: int, should_stop: Callable[[], bool] | None = None) -> int:
    """Run the connection's queued syncs (a worker's lane ``syncs:<connection id>``); how many ran."""
    ran = 0
    while True:
        run = sync_runs.claim(conn_id)
        conn = db.session.get(Connection, conn_id)
        if run is None or conn is None:
            return ran
        sync(conn.name, actor=run.requested_by, trigger=run.trigger, run_id=run.id, should_stop=should_stop,
             before=(run.counts or {}).get("carried"))
        ran += 1
        if should_stop is not None and should_stop():
            return ran


def _store_page(conn_id: int, page: SourcePage, counts: SyncCounts, actor: str) -> None:
    """One page's requests, its watermark and what the source said about its API usage."""
    conn = db.session.get(Connection, conn_id)
    assert conn is not None
    ingest(conn, page.records, counts, actor)
    store_watermark(conn_id, page.watermark)
    conn.last_sync_at = utcnow()
    counts.pages += 1
    counts.http_calls += page.http_calls
    counts.detail.update(page.detail)
    if "api_usage_share" in page.detail:
        conn.settings = {**(conn.settings or {}), "api_usage_share": page.detail["api_usage_share"]}


def _observe(name: str, counts: SyncCounts, result: str) -> None:
    SYNC_RUNS.labels(name, result).inc()
    for outcome in ("created", "updated", "unchanged", "changed_after_decision", "withdrawn"):
        value = getattr(counts, outcome)
        if value:
            SYNC_RECORDS.labels(name, outcome).inc(value)


def store_events(conn: Connection, events: Sequence[PushEvent], received_at: datetime | None = None) -> int:
    """Store pushed events durably (before the push is acknowledged); duplicates are ignored.

    One ``INSERT … ON CONFLICT DO NOTHING`` on (connection, event key): no lookup first, and no audit append
    here — acknowledging a push never waits for the audit chain's lock; the worker audits each event in the
    transaction that processes it (``webhook.processed``, or ``webhook.failed`` when it gives up).
    """
    if not events:
        return 0
    now = received_at or utcnow()
    rows = [{"connection_id": conn.id, "event_key": event.event_key, "external_id": event.external_id,
             "payload": dict(event.payload), "status": "pending", "attempts": 0, "received_at": now}
            for event in events]
    dialect = db.session.get_bind().dialect.name
    statement = _STORE_EVENT.get(dialect)
    if statement is None:  # built once per backend, so its compiled form is cached
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = _STORE_EVENT[dialect] = (
            insert(InboundEvent.__table__).on_conflict_do_nothing(index_elements=["connection_id", "event_key"])
            .returning(InboundEvent.__table__.c.id))
    stored = len(db.session.execute(statement, rows).all())
    if stored:
        wake.announce(f"{wake.EVENTS}:{conn.id}")  # a worker fetches the records as soon as the push commits
    return stored


_STORE_EVENT: dict[str, Any] = {}


#: the connections the schedule (and ``sync --all``) syncs: not those waiting for an admin to authorize them
SCHEDULED_STATUSES = ("connected", "paused", "error")
#: a connection in these states is waiting (for its API allocation, for an admin): its events wait with it,
#: pending and uncounted, and are processed once it is connected again
_WAITING = ("paused", "needs_authorization")


def process_events(limit: int = 100, actor: str = "worker") -> dict[str, int]:
    """Fetch and ingest the records pushed events point at (the worker's periodic job: the safety net for
    notifications missed, and the retries of events that failed; a push is processed as it arrives by
    ``process_connection_events``).

    Only events of connected connections are taken: a paused one (its daily API share used) must not spend
    calls on pushes either, and its waiting events must not hold up other connections' events. The pending
    pushes about one record coalesce: each connection's due records are fetched together (one ``Id IN (…)``
    query, one ``show_many``), and a record fetched for a push less than ``CONNECTOR_PUSH_REFETCH_SECONDS`` (by
    default the sync interval) ago waits until that has passed, so however many pushes name a record, it costs at
    most one fetch per interval (the scheduled sync reads every change anyway). One connection's events are
    processed by one thread of one process at a time (``connection_turn``); a connection busy elsewhere is
    skipped (its holder looks again before it lets go)."""
    counts = {"processed": 0, "failed": 0}
    now = utcnow()
    with unit_of_work():
        push_governance.prune(now)
        due = _due_events(limit, now - timedelta(seconds=settings().push_refetch_seconds))
    by_connection: dict[int, list[int]] = {}
    for event_id, conn_id in due:
        by_connection.setdefault(conn_id, []).append(event_id)
    for conn_id, event_ids in by_connection.items():
        with connection_turn(conn_id) as mine:
            if mine:
                _process_connection_events(conn_id, event_ids, counts, actor)
    return counts


def process_connection_events(conn_id: int, actor: str = "worker", limit: int = 100) -> dict[str, int]:
    """Process one connection's due pushed events now, batch after batch (``limit`` records a fetch), until none
    is left (the worker's events lane, woken by the push's notification).

    Each event is tried once per call (one that fails waits for the periodic job's retry). When another thread
    or process holds the connection's turn, nothing is done here: the holder looks for due events once more
    after letting go, so an event committed while it worked is not left for the timer."""
    counts = {"processed": 0, "failed": 0}
    tried: set[int] = set()
    while True:
        with connection_turn(conn_id) as mine:
            if not mine:
                return counts
            while due := _untried(conn_id, limit, tried):
                tried.update(due)
                _process_connection_events(conn_id, due, counts, actor)
                if len(due) < limit:
                    break  # what came meanwhile is found by the look after letting go
        if not _untried(conn_id, 1, tried):  # looked again after letting go: see the docstring
            return counts


def _untried(conn_id: int, limit: int, tried: set[int]) -> list[int]:
    cutoff = utcnow() - timedelta(seconds=settings().push_refetch_seconds)
    with unit_of_work():
        due = _due_events(limit + len(tried), cutoff, connection_id=conn_id, locking=False)
    return [event_id for event_id, _ in due if event_id not in tried][:limit]


def connections_with_new_events() -> list[int]:
    """The connected connections with pushed events never tried and due (the worker's short timer looks for
    these when a notification may have been missed: SQLite, which has none, or a listener reconnecting)."""
    fetched_since = utcnow() - timedelta(seconds=settings().push_refetch_seconds)
    return list(db.session.scalars(
        select(InboundEvent.connection_id).join(Connection, Connection.id == InboundEvent.connection_id)
        .where(InboundEvent.status == "pending", InboundEvent.attempts == 0, Connection.status == "connected",
               ~_fetched_lately(fetched_since)).distinct()))


#: the first key of a connection's events turn (``pg_try_advisory_lock(EVENTS_LOCK_CLASS, connection id)``)
EVENTS_LOCK_CLASS = 0x4C455802
_turn_locks: dict[int, threading.Lock] = {}
_turn_locks_lock = threading.Lock()


@contextmanager
def connection_turn(conn_id: int) -> Iterator[bool]:
    """Whether this thread may process ``conn_id``'s events now: one thread of this process (a lock) and one
    process (PostgreSQL's session advisory lock on a connection of its own, held across the fetch's HTTP and the
    commits) at a time, so two workers never fetch and ingest the same push twice."""
    with _turn_locks_lock:
        local = _turn_locks.setdefault(conn_id, threading.Lock())
    if not local.acquire(blocking=False):
        yield False
        return
    try:
        if db.engine.dialect.name != "postgresql":
            yield True
            return
        holder = db.engine.connect()
        keys = {"a": EVENTS_LOCK_CLASS, "b": conn_id}
        try:
            mine = bool(holder.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), keys).scalar())
            holder.rollback()
        except BaseException:
            holder.invalidate()
            holder.close()
            raise
        try:
            yield mine
        finally:
            _let_go(holder, keys if mine else None)
    finally:
        local.release()


def _let_go(holder: Any, keys: dict[str, int] | None) -> None:
    """Release a turn's advisory lock; a connection the database dropped has lost it already."""
    try:
        if keys is not None:
            holder.execute(text("SELECT pg_advisory_unlock(:a, :b)"), keys)
            holder.rollback()
    except DBAPIError:
        holder.invalidate()
    finally:
        holder.close()


def _fetched_lately(fetched_since: datetime) -> Any:
    """A push about the same record was processed (its record fetched) since ``fetched_since``."""
    recent = aliased(InboundEvent)
    return (select(recent.id).where(
        recent.connection_id == InboundEvent.connection_id, recent.external_id == InboundEvent.external_id,
        recent.status == "processed", recent.processed_at > fetched_since).exists())


def _due_events(limit: int, fetched_since: datetime, connection_id: int | None = None,
                locking: bool = True) -> list[tuple[int, int]]:
    """(event id, connection id) of pending events of connected connections (or of ``connection_id``) whose
    record was not fetched for a push since ``fetched_since``, oldest first."""
    query = (select(InboundEvent.id, InboundEvent.connection_id)
             .join(Connection, Connection.id == InboundEvent.connection_id)
             .where(InboundEvent.status == "pending", Connection.status == "connected",
                    ~_fetched_lately(fetched_since))
             .order_by(InboundEvent.id).limit(limit))
    if connection_id is not None:
        query = query.where(InboundEvent.connection_id == connection_id)
    if locking:
        query = query.with_for_update(skip_locked=True, of=InboundEvent)
    return [(row[0], row[1]) for row in db.session.execute(query)]


def _process_connection_events(conn_id: int, event_ids: list[int], counts: dict[str, int], actor: str) -> None:
    """One connection's due events: their records fetched in one go; when that fails for a reason that is not
    the connection's (a record that cannot be ingested), each record is tried alone so the others go on."""
    pending = _pending_events(conn_id, event_ids)
    if pending is None:
        return  # a connection that paused meanwhile: its events wait
    kind, ctx, groups = pending
    if _process_groups(kind, ctx, conn_id, groups, counts, actor, last_try=len(groups) == 1):
        return
    for key, group in groups.items():
        again = _pending_events(conn_id, [event.id for event in group if event.id is not None])
        if again is not None and key in again[2]:
            _process_groups(kind, ctx, conn_id, {key: again[2][key]}, counts, actor, last_try=True)


def _process_groups(kind: SourceKind, ctx: ConnectionContext, conn_id: int, groups: dict[str, list[PushEvent]],
                    counts: dict[str, int], actor: str, last_try: bool) -> bool:
    """Fetch and ingest the records of ``groups`` (pending events by record); False when an unexpected error
    should be retried record by record (only for several groups on a first try)."""
    event_ids = [event.id for group in groups.values() for event in group if event.id is not None]
    started = utcnow()
    try:
        with released():  # no transaction open while the source talks HTTP
            records = kind.records_for_events(ctx, [group[0] for group in groups.values()])
        with unit_of_work():  # the records, the events' status and their audit events: atomic
            counts["processed"] += _processed(conn_id, groups, records, started, actor)
    except SourceError as exc:
        db.session.rollback()
        with unit_of_work():
            if exc.status not in _WAITING:  # a connection that must wait is not the events' failure
                for event_id in event_ids:
                    _event_failed(event_id, exc.message)
                counts["failed"] += len(event_ids)
        with unit_of_work():
            connections.set_status(conn_id, exc.status, exc.message)
    except Exception as exc:
        db.session.rollback()
        if len(groups) > 1 and not last_try:
            log.warning("inbound events %s failed together; trying each record alone", event_ids)
            return False
        log.exception("inbound events %s failed", event_ids)
        with unit_of_work():
            for event_id in event_ids:
                _event_failed(event_id, f"{type(exc).__name__}: {exc}")
        counts["failed"] += len(event_ids)
    return True


def _pending_events(conn_id: int, event_ids: list[int]
                    ) -> tuple[SourceKind, ConnectionContext, dict[str, list[PushEvent]]] | None:
    """What processing a connection's events needs, as plain data: its events still pending, by record (an
    event naming no record is a group of its own); None when the connection is no longer connected."""
    conn = db.session.get(Connection, conn_id)
    if conn is None or conn.status != "connected":
        return None
    groups: dict[str, list[PushEvent]] = {}
    for event in db.session.scalars(select(InboundEvent).where(
            InboundEvent.id.in_(event_ids), InboundEvent.status == "pending").order_by(InboundEvent.id)):
        key = f"record:{event.external_id}" if event.external_id else f"event:{event.id}"
        groups.setdefault(key, []).append(
            PushEvent(event.event_key, event.external_id, dict(event.payload or {}), event.id))
    if not groups:
        return None
    return get_kind(conn.kind), connections.context(conn), groups


def _processed(conn_id: int, groups: dict[str, list[PushEvent]], records: list[SourceRecord], started: datetime,
               actor: str) -> int:
    """Ingest the fetched records and mark processed every event they answer: the events fetched for, and any
    other push about the same records that arrived before the fetch began (it read what they announced).
    One audit event per record fetched; returns how many events were processed."""
    conn = db.session.get(Connection, conn_id)
    assert conn is not None
    ingest(conn, records, SyncCounts(), actor)
    now = utcnow()
    per_record: dict[str | None, int] = {}
    for record in records:
        per_record[record.external_id] = per_record.get(record.external_id, 0) + 1
    ids = [event.id for group in groups.values() for event in group if event.id is not None]
    answered: ColumnElement[bool] = InboundEvent.id.in_(ids)
    record_ids = [group[0].external_id for group in groups.values() if group[0].external_id]
    if record_ids:
        answered = answered | (InboundEvent.external_id.in_(record_ids) & (InboundEvent.received_at <= started))
    by_group: dict[str, list[InboundEvent]] = {}
    for row in db.session.scalars(select(InboundEvent).where(  # every group's events in one query
            InboundEvent.connection_id == conn_id, InboundEvent.status == "pending", answered)
            .order_by(InboundEvent.id)):
        row.status, row.processed_at = "processed", now
        row.attempts += 1
        by_group.setdefault(f"record:{row.external_id}" if row.external_id else f"event:{row.id}", []).append(row)
    events: list[tuple[str, str, str | None, dict[str, Any] | None]] = []
    for key, group in groups.items():
        first, rows = group[0], by_group.get(key, [])
        events.append((actor, "webhook.processed", f"connection:{conn.name}", {
            "event_id": first.id, "event_key": first.event_key, "external_id": first.external_id,
            "received_at": rows[0].received_at if rows else None, "records": per_record.get(first.external_id, 0),
            "events": len(rows)}))
    audit.append_many(events)
    return sum(len(rows) for rows in by_group.values())


def _event_failed(event_id: int, message: str, max_attempts: int = 10) -> None:
    event = db.session.get(InboundEvent, event_id)
    if event is None:
        return
    event.attempts += 1
    event.last_error = message[:1000]
    if event.attempts >= max_attempts:
        event.status = "failed"
        conn = db.session.get(Connection, event.connection_id)
        audit.append("worker", "webhook.failed", f"connection:{conn.name if conn else event.connection_id}", {
            "event_id": event.id, "event_key": event.event_key, "external_id": event.external_id,
            "attempts": event.attempts, "error": event.last_error[:500]})


def queue_due() -> dict[str, int]:
    """The sync schedule: a run queued for the workers' lanes (``syncs:<connection id>``) for every connected
    connection whose last sync is older than ``CONNECTOR_SYNC_INTERVAL_SECONDS``; a paused one, to see whether it may
    resume; and one in ``error`` (an outage, a timeout, a setting the admin has since fixed) once an interval has
    passed since it failed, so a transient failure never takes a connection off the schedule.
    ``needs_authorization`` waits for an admin. The syncs run in lanes, not in the worker's loop: a backfill of an
    hour holds up no heartbeat, delivery or reminder."""
    interval = timedelta(seconds=settings().sync_interval_seconds)
    cutoff = utcnow() - interval
    due = list(db.session.scalars(
        select(Connection).where(Connection.status.in_(SCHEDULED_STATUSES))
        .where((Connection.last_sync_at.is_(None)) | (Connection.last_sync_at < cutoff))
        .where((Connection.status != "error") | (Connection.updated_at < cutoff))  # updated_at: when it failed
        .where(~sync_runs.busy_connections())  # a sync queued or under way does the schedule's work
        .order_by(Connection.name)))
    queued = sum(sync_runs.request(conn, "schedule", trigger="schedule")[1] for conn in due)
    return {"queued": queued}
