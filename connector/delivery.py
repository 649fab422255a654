"""Deliveries: outbox rows → their senders (write-back, billing, e-mail), at least once, in order.

Claiming: a short transaction picks due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock
otherwise) and puts a lease on them, so a row is never sent by two workers at once; the HTTP call happens
outside any transaction; a second short transaction records the outcome. A worker killed mid-send leaves the
row pending; once its lease lapses another worker sends it again with the same message id, so receivers can
de-duplicate. While a row is leased no newer delivery for its (request, target) is claimed, and a newer change
does not supersede it under its sender: its outcome is recorded, and only then, if it is still unsent, is it
superseded by the newer one.

Every rescheduling goes through ``retry_at``, which keeps the next attempt within ``[now, deadline]``: a row is tried
once more at its deadline and is ``dead`` if that fails, whatever ``Retry-After`` said.

The worker's lanes (``connector.lanes``, one thread per target) call ``claim(targets=[target])`` and
``send_claimed``; the senders are ``connector.senders``.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import exists, inspect, or_, select, update
from sqlalchemy.orm import aliased

from connector import audit, outbox
from connector.config import settings
from connector.db import db, released, unit_of_work
from connector.governance.errors import StateConflict
from connector.lane_budget import UNSENT
from connector.models import Delivery, DeliveryTarget, ExceptionRequest, utcnow
from connector.observability import DELIVERY_ATTEMPTS, DELIVERY_LATENCY
from connector.senders import SENDERS
from connector.sources import Outcome

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0

#: one ``audit.append_many`` entry: actor, action, subject, data
AuditEntry = tuple[str, str, str | None, dict[str, Any]]


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base · 2^attempts))."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(0, attempts - 1)))
    return (rng or random).uniform(0, ceiling)


def max_age() -> timedelta:
    return timedelta(hours=settings().delivery_max_age_hours)


def lease() -> timedelta:
    return timedelta(seconds=settings().delivery_lease_seconds)


def batch_size() -> int:
    """Deliveries one claim leases: a whole backlog for a source goes out in the fewest batch calls and job polls
    (1,000 are five Salesforce Collections calls, or ten ``update_many`` calls and one poll a round on Zendesk)."""
    return max(1, settings().delivery_batch_size)


#: what a held delivery waits when its sender gives no time
HELD_DEFAULT_SECONDS = 30.0
#: the counts ``send_claimed`` and ``drain`` return (``unsent``: released when a lane's budget ran out)
RESULTS = ("delivered", "retry", "dead", "gone", "held", UNSENT)


class RecordFailed(Exception):
    """Recording the outcomes of a sent group failed (the database went away): the rows keep their lease until it
    lapses, then they are sent again under the same message ids."""


def retry_at(now: datetime, seconds: float | None, deadline: datetime) -> datetime:
    """The one clamp every rescheduling goes through: ``now`` plus ``seconds``, within ``[now, deadline]``.

    ``seconds`` comes from a receiver (``Retry-After``) or a backoff: negative reads as 0, and anything past the
    deadline (``1e12``, ``inf``, ``nan``, a date in 2099) as the deadline itself, so the row is tried once more
    there and, if that fails, is ``dead`` — never parked beyond its maximum age, never an ``OverflowError``.
    """
    room = max(0.0, (deadline - now).total_seconds())
    wait = room if seconds is None or math.isnan(seconds) else min(max(0.0, seconds), room)
    return now + timedelta(seconds=wait)


def _no_counts() -> dict[str, int]:
    return dict.fromkeys(RESULTS, 0)


def target_kind(target: str) -> str:
    """``billing``, or ``connection`` for ``connection:<name>`` targets (write-back to a source)."""
    return target.split(":", 1)[0]


def claim(limit: int | None = None, now: datetime | None = None, due_by: datetime | None = None,
          targets: Sequence[str] | None = None) -> list[Delivery]:
    """Lease up to ``limit`` (default ``CONNECTOR_DELIVERY_BATCH_SIZE``) deliveries due by ``due_by`` (default:
    now), each the oldest unsent one of its (request, target), so they reach the target in order; only those to
    ``targets`` when given (a lane claims for its own target).

    A leased row is always ``pending`` (nothing supersedes or retries a row in flight, and recording its outcome
    clears the lease), so "no earlier pending row" also means "none in flight"; the one-column test keeps
    PostgreSQL's anti-join on the status index however long the history grows."""
    limit = limit or batch_size()
    now = now or utcnow()
    due_by = due_by or now
    earlier = aliased(Delivery)
    blocked = exists().where(
        earlier.request_pk == Delivery.request_pk, earlier.target == Delivery.target, earlier.id < Delivery.id,
        earlier.status == "pending",
    )
    disabled = exists().where(DeliveryTarget.target == Delivery.target, DeliveryTarget.status == "disabled")
    query = (
        select(Delivery)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= due_by,
               or_(Delivery.lease_until.is_(None), Delivery.lease_until < now), ~blocked, ~disabled)
        .order_by(Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Delivery)
    )
    if targets is not None:
        query = query.where(Delivery.target.in_(list(targets)))
    rows = list(db.session.scalars(query))
    for row in rows:
        row.lease_until = now + lease()
        row.attempts += 1
    # the leases are every worker's to see; the rows stay loaded, so reading one while it is sent begins no
    # transaction (on SQLite that would hold the write lock through every HTTP call of the batch)
    with released(keep_loaded=True):
        return rows


def due_targets(now: datetime | None = None) -> list[str]:
    """The targets with a delivery due now and not in flight: one lane each."""
    now = now or utcnow()
    disabled = exists().where(DeliveryTarget.target == Delivery.target, DeliveryTarget.status == "disabled")
    return list(db.session.scalars(
        select(Delivery.target).where(Delivery.status == "pending", Delivery.next_attempt_at <= now,
                                      outbox.not_in_flight(now), ~disabled)
        .group_by(Delivery.target).order_by(Delivery.target)))


def _record(row: Delivery, request_id: str, outcome: Outcome, now: datetime,
            overtaken: bool = False) -> AuditEntry | None:
    """Apply one outcome to its row; returns the attempt's audit event (appended in bulk by the caller).

    ``overtaken``: a newer delivery for the same (request, target) was queued while this one was in flight and
    may replace it; if this one is still unsent it is superseded now (it could not be while its sender held it).
    """
    row.lease_until = None
    if outcome.result in ("held", UNSENT):
        _hold(row, outcome, now, overtaken)
        return None
    row.last_status_code = outcome.status_code
    kind = target_kind(row.target)
    DELIVERY_ATTEMPTS.labels(kind, outcome.result).inc()
    if outcome.result == "delivered":
        row.status, row.delivered_at, row.last_error = "delivered", now, None
        DELIVERY_LATENCY.labels(kind).observe(max(0.0, (now - row.created_at).total_seconds()))
    elif outcome.result == "gone":
        row.status, row.last_error = "pending", outcome.detail
        target = db.session.get(DeliveryTarget, row.target) or DeliveryTarget(target=row.target)
        target.status, target.reason, target.changed_at = "disabled", outcome.detail, now
        db.session.add(target)
        audit.append("worker", "delivery.target_disabled", f"target:{row.target}", {"reason": outcome.detail})
    elif outcome.result == "dead" or now >= row.deadline:
        row.status, row.last_error = "dead", outcome.detail or "maximum age reached"
    else:
        wait = backoff_seconds(row.attempts)
        if outcome.retry_after is not None:
            wait = max(wait, outcome.retry_after) if not math.isnan(outcome.retry_after) else math.inf
        row.status, row.last_error = "pending", outcome.detail
        row.next_attempt_at = retry_at(now, wait, row.deadline)
    if overtaken and row.status == "pending":
        row.status, row.last_error = "superseded", f"{outbox.SUPERSEDED} (after: {outcome.detail})"
    return ("worker", "delivery.attempted", f"request:{request_id}", {
        "delivery_id": row.id, "target": row.target, "change": row.change, "attempt": row.attempts,
        "result": outcome.result, "status": row.status, "status_code": outcome.status_code,
        "detail": outcome.detail[:500]})


def _hold(row: Delivery, outcome: Outcome, now: datetime, overtaken: bool) -> None:
    """A row not attempted: ``unsent`` (its lane ran out of time, or the worker is stopping) is due again at once;
    ``held`` (the target cannot take it now: a paused connection, no SMTP) waits, never past its deadline, and a
    held row whose deadline has passed is ``dead`` like any other (an admin's retry revives it)."""
    if not outcome.partial:
        row.attempts = max(0, row.attempts - 1)
    if overtaken:
        row.status, row.last_error = "superseded", outbox.SUPERSEDED
    elif outcome.result == UNSENT:
        return
    elif now >= row.deadline:
        row.status, row.last_error = "dead", f"maximum age reached while held: {outcome.detail}"
    else:
        wait = HELD_DEFAULT_SECONDS if outcome.retry_after is None else outcome.retry_after
        row.next_attempt_at, row.last_error = retry_at(now, wait, row.deadline), outcome.detail


def send_claimed(rows: Sequence[Delivery]) -> dict[str, int]:
    """Send claimed rows, target by target, and record each outcome; the whole batch keeps its lease until the
    last group is recorded."""
    if not rows:
        return _no_counts()
    stale = [row for row in rows if inspect(row).expired_attributes]  # a commit since the claim expired them
    for row in stale:
        db.session.refresh(row)
    with released(keep_loaded=True):  # ends the refresh's transaction, if any
        for row in rows:  # detached, loaded: no sender and no commit of an earlier group can reopen a transaction
            db.session.expunge(row)
        with kept_leased([row.id for row in rows]):
            return _send_groups(rows)


def _send_groups(rows: Sequence[Delivery]) -> dict[str, int]:
    """Each target's group sent with no transaction open, then its outcomes recorded in a unit of work of their
    own."""
    counts = _no_counts()
    by_target: dict[str, list[Delivery]] = {}
    for row in rows:
        by_target.setdefault(row.target, []).append(row)
    for target, group in by_target.items():
        outcomes = _send_group(target, group)
        try:
            with unit_of_work():
                results = _record_group(group, outcomes)
        except Exception as exc:
            raise RecordFailed(f"could not record the outcomes of {len(group)} deliveries to {target}") from exc
        for result in results:
            counts[result] = counts.get(result, 0) + 1
    return counts


def _send_group(target: str, group: Sequence[Delivery]) -> list[Outcome]:
    kind = target_kind(target)
    sender = SENDERS.get(kind)
    if sender is None:
        return [Outcome("retry", f"no sender for target kind '{kind}'")] * len(group)
    try:
        return sender(target, group)
    except Exception as exc:  # a sender bug must not lose the deliveries: retry them later
        log.exception("sender for %s failed", target)
        return [Outcome("retry", f"{type(exc).__name__}: {exc}")] * len(group)


def _record_group(group: Sequence[Delivery], outcomes: Sequence[Outcome]) -> list[str]:
    """Record each outcome on its row as it stands now (skipping rows no longer pending: an admin or a newer
    change got there first) and audit the attempts; returns the results recorded."""
    now = utcnow()
    newer = aliased(Delivery)
    queued_since = exists().where(newer.request_pk == Delivery.request_pk, newer.target == Delivery.target,
                                  newer.id > Delivery.id, newer.status == "pending")
    fresh_rows = {d.id: (d, request_id, bool(later)) for d, request_id, later in db.session.execute(
        select(Delivery, ExceptionRequest.id, queued_since)
        .join(ExceptionRequest, ExceptionRequest.pk == Delivery.request_pk)
        .where(Delivery.id.in_([row.id for row in group])).execution_options(populate_existing=True))}
    events: list[AuditEntry] = []
    results: list[str] = []
    for row, outcome in zip(group, outcomes, strict=True):
        fresh, request_id, later = fresh_rows.get(row.id, (None, "", False))
        if fresh is None or fresh.status != "pending":
            continue
        overtaken = later and outbox.supersedable(fresh.target, fresh.change)
        event = _record(fresh, request_id, outcome, now, overtaken)
        if event is not None:
            events.append(event)
        results.append(outcome.result)
    audit.append_many(events, at=now)
    return results


@contextmanager
def kept_leased(ids: Sequence[int]) -> Iterator[None]:
    """Renew the lease of ``ids`` every third of it while a batch is sent and recorded.

    A batch may take longer than one lease (a thousand deliveries, a slow endpoint): without renewal another
    worker would claim and send the same rows again. Renewal runs in its own short transactions (no transaction
    is open while a sender talks HTTP), skips rows locked by the recording of an outcome (so the two never wait
    for each other), leaves recorded rows alone (their lease is cleared) and stops with this worker: a killed
    worker's rows come free when the lease lapses.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    period = max(0.1, lease().total_seconds() / 3)
    stop = threading.Event()
    held = (select(Delivery.id).where(Delivery.id.in_(ids), Delivery.lease_until.is_not(None),
                                      Delivery.status == "pending").with_for_update(skip_locked=True))

    def renew() -> None:
        while not stop.wait(period):
            try:
                with app.app_context(), db.engine.begin() as connection:
                    connection.execute(update(Delivery).where(Delivery.id.in_(held))
                                       .values(lease_until=utcnow() + lease()))
            except Exception:  # the send goes on; at worst the lease lapses as it would without renewal
                log.warning("could not renew the lease of %d deliveries", len(ids), exc_info=True)

    keeper = threading.Thread(target=renew, name="delivery-lease", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join()  # no renewal outlives the batch (it could extend a lease a later claim takes)


def drain(limit: int | None = None, targets: Sequence[str] | None = None) -> dict[str, int]:
    """Send everything that was due when the drain started (``worker --once``), each delivery at most once.

    The cut-off matters: a row rescheduled during the drain (a short full-jitter backoff) must neither be sent
    again in this drain nor be left leased, which would hide it from the next worker until the lease lapses.
    """
    total = _no_counts()
    cutoff = utcnow()
    sent: set[int] = set()
    while True:
        rows = claim(limit, due_by=cutoff, targets=targets)
        again = [row for row in rows if row.id in sent]
        if again:
            release(again)
        rows = [row for row in rows if row.id not in sent]
        if not rows:
            return total
        sent.update(row.id for row in rows)
        for key, value in send_claimed(rows).items():
            total[key] = total.get(key, 0) + value


def release(rows: Sequence[Delivery]) -> None:
    """Give back leases taken without sending, uncounted, so any worker can claim the rows at once."""
    for row in rows:
        row.lease_until = None
        row.attempts = max(0, row.attempts - 1)
    with released(keep_loaded=True):  # the other rows of the claim are about to be sent: they stay loaded
        return


def retry(delivery_id: int, actor: str) -> Delivery | None:
    """An admin's retry of a ``dead`` or ``pending`` delivery: due now, with a fresh maximum age, and its target
    re-enabled.

    Anything else is refused (``StateConflict``, nothing changed): a delivered or superseded delivery, or a dead
    one a newer delivery for the same (request, target) has overtaken, would re-send an old version after the
    newer one; one in flight would be sent twice at once.
    """
    row = db.session.get(Delivery, delivery_id)
    if row is None:
        return None
    now = utcnow()
    _check_retriable(row, now)
    row.status, row.next_attempt_at, row.lease_until, row.deadline = "pending", now, None, now + max_age()
    target = db.session.get(DeliveryTarget, row.target)
    if target is not None and target.status == "disabled":
        target.status, target.reason, target.changed_at = "active", f"re-enabled by {actor}", now
        db.session.execute(update(Delivery)  # never a row in flight: its lease keeps it with its sender
                           .where(Delivery.target == row.target, Delivery.status == "pending",
                                  outbox.not_in_flight(now))
                           .values(next_attempt_at=now, lease_until=None))
    audit.append(actor, "delivery.retry_requested", f"request:{row.request.id}",
                 {"delivery_id": row.id, "target": row.target})
    return row


def _check_retriable(row: Delivery, now: datetime) -> None:
    """Raise ``StateConflict`` unless an admin's retry of ``row`` keeps its (request, target) in order."""
    details: dict[str, Any] = {"delivery_id": row.id, "status": row.status, "target": row.target}
    if row.status in ("delivered", "superseded"):
        why = "it was delivered" if row.status == "delivered" else "a newer change replaced it"
        raise StateConflict(f"delivery_{row.status}", f"Delivery {row.id} is {row.status} ({why}); retrying it "
                            "would send an old version again. Only dead or pending deliveries can be retried; "
                            "retry the newest delivery of this request instead if it failed.", details)
    if row.status not in ("dead", "pending"):
        raise StateConflict("delivery_not_retriable", f"Delivery {row.id} is {row.status}; only dead or pending "
                            "deliveries can be retried.", details)
    if row.status == "pending" and row.lease_until is not None and row.lease_until >= now:
        raise StateConflict("delivery_in_flight", f"Delivery {row.id} is being sent right now; wait for its "
                            "outcome (it is retried on its own if it fails) and look again.",
                            {**details, "lease_until": row.lease_until.isoformat()})
    if row.status == "dead":
        newer = db.session.scalars(
            select(Delivery).where(Delivery.request_pk == row.request_pk, Delivery.target == row.target,
                                   Delivery.id > row.id, Delivery.status != "dead")
            .order_by(Delivery.id.desc()).limit(1)).first()
        if newer is not None:
            raise StateConflict("delivery_overtaken", f"Delivery {row.id} was overtaken by the newer delivery "
                                f"{newer.id} ({newer.change}, {newer.status}) for the same request and target; "
                                "retrying it would send an old version after the newer one, which carries the "
                                "latest state: retry the newest delivery of this request if it is dead.",
                                {**details, "newer_delivery_id": newer.id, "newer_status": newer.status})


__all__ = ["RecordFailed", "claim", "drain", "due_targets", "kept_leased", "release", "retry", "retry_at",
           "send_claimed"]
