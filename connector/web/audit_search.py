"""The audit page's filters (action, actor, request, period), its subjects as request keys, and the export.

An auditor narrows the log to what they are looking at and takes exactly that range away (CSV or JSON Lines);
the export streams every matching event, oldest first, so a long range never sits in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, or_, select

from connector.audit import event_dict
from connector.db import db
from connector.models import AuditEvent, ExceptionRequest

#: the actions the connector records, offered as suggestions (a prefix such as ``entitlement.`` also matches)
ACTIONS = (
    "decision.recorded", "delivery.retry_requested", "delivery.target_disabled", "entitlement.amended",
    "entitlement.expired", "entitlement.expiry_notice", "entitlement.renewed", "entitlement.revocation_scheduled",
    "entitlement.revoked", "mapping.changed", "policy.changed", "request.changed_after_decision",
    "request.created", "request.disputed", "request.info_requested", "request.updated", "request.withdrawn",
    "risk.overridden", "sync.completed", "vote.cast", "webhook.failed", "webhook.processed",
)
#: events a running connector writes on its own, many times a day: hidden when the auditor asks
ROUTINE = ("sync.completed", "webhook.processed")
EXPORT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
EXPORT_BATCH = 1000
CSV_COLUMNS = ("seq", "time", "actor", "action", "subject", "request_key", "data", "prev_hash", "hash")


@dataclass
class AuditFilters:
    action: str = ""
    actor: str = ""
    request: str = ""
    start: date | None = None
    end: date | None = None
    hide_routine: bool = False
    request_id: str | None = None  # the request's opaque id once ``request`` (a key or an id) is found
    problems: list[str] = field(default_factory=list)

    def args(self) -> dict[str, str]:
        out = {"action": self.action, "actor": self.actor, "request": self.request,
               "start": self.start.isoformat() if self.start else "", "end": self.end.isoformat() if self.end else "",
               "hide_routine": "1" if self.hide_routine else ""}
        return {k: v for k, v in out.items() if v}

    def slug(self) -> str:
        """What the export's file name says about the range."""
        parts = [self.request.upper() if self.request else "", self.action.rstrip(".*"),
                 self.start.isoformat() if self.start else "", self.end.isoformat() if self.end else ""]
        return "-".join(p for p in parts if p) or "all"


def _day(value: str, name: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"'{value}' is not a date for {name}: pick one from the calendar.")
        return None


def read_filters(args: Mapping[str, str]) -> AuditFilters:
    problems: list[str] = []
    f = AuditFilters(action=(args.get("action") or "").strip()[:100], actor=(args.get("actor") or "").strip()[:200],
                     request=(args.get("request") or "").strip()[:64],
                     start=_day((args.get("start") or "").strip(), "From", problems),
                     end=_day((args.get("end") or "").strip(), "To", problems),
                     hide_routine=bool(args.get("hide_routine")), problems=problems)
    if f.start and f.end and f.end < f.start:
        problems.append("The period ends before it starts.")
    if f.request:
        found = db.session.scalar(select(ExceptionRequest.id).where(
            or_(ExceptionRequest.id == f.request, ExceptionRequest.key == f.request.upper())))
        f.request_id = found or "-"  # an unknown request matches nothing (an empty page, not an error)
    return f


def filtered(query: Select[Any], f: AuditFilters) -> Select[Any]:
    if f.action:
        prefix = f.action.rstrip("*")
        query = query.where(AuditEvent.action.startswith(prefix) if prefix.endswith(".") or f.action.endswith("*")
                            else AuditEvent.action == f.action)
    if f.actor:
        query = query.where(AuditEvent.actor == f.actor)
    if f.request_id:
        query = query.where(AuditEvent.subject == f"request:{f.request_id}")
    if f.start:
        query = query.where(AuditEvent.occurred_at >= datetime.combine(f.start, time.min, UTC))
    if f.end:
        query = query.where(AuditEvent.occurred_at < datetime.combine(f.end + timedelta(days=1), time.min, UTC))
    if f.hide_routine:
        query = query.where(AuditEvent.action.not_in(ROUTINE))
    return query


def subject_keys(events: Sequence[AuditEvent]) -> dict[str, str]:
    """``request:<id>`` → the request's key (``LEX-1042``), for the events shown."""
    ids = {ev.subject.split(":", 1)[1] for ev in events if ev.subject and ev.subject.startswith("request:")}
    if not ids:
        return {}
    rows = db.session.execute(select(ExceptionRequest.id, ExceptionRequest.key).where(ExceptionRequest.id.in_(ids)))
    return {f"request:{rid}": key or rid for rid, key in rows}


def export_lines(f: AuditFilters, fmt: str) -> Iterator[str]:
    """Every matching event, oldest first, in batches (keyset on ``seq``)."""
    if fmt == "csv":
        yield ",".join(CSV_COLUMNS) + "\r\n"
    after = 0
    while True:
        batch = db.session.scalars(filtered(select(AuditEvent), f).where(AuditEvent.seq > after)
                                   .order_by(AuditEvent.seq).limit(EXPORT_BATCH)).all()
        if not batch:
            return
        keys = subject_keys(batch)
        for ev in batch:
            row = {**event_dict(ev), "request_key": keys.get(ev.subject or "")}
            if fmt == "jsonl":
                yield json.dumps(row, default=str, ensure_ascii=False, sort_keys=True) + "\n"
            else:
                out = io.StringIO()
                csv.writer(out).writerow([json.dumps(row["data"], default=str, sort_keys=True) if k == "data"
                                          else (row.get(k) if row.get(k) is not None else "") for k in CSV_COLUMNS])
                yield out.getvalue()
        after = batch[-1].seq
