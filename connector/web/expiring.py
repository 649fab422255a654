"""Exceptions ending soon: within each one's own notice window (the policy's default unless the decision set
another), or within 30, 60 or 90 days; and expiries by month for the metrics page's chart."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from connector.db import db
from connector.governance.lifecycle import notice_due
from connector.governance.states import RequestState
from connector.models import EntitlementBoundary, ExceptionRequest

WINDOWS = {"notice": "Within its notice window", "30": "Within 30 days", "60": "Within 60 days",
           "90": "Within 90 days"}
MAX_NOTICE_DAYS = 365  # the decision form's and the policy's limit
LIMIT = 1000


@dataclass(frozen=True)
class Ending:
    request: ExceptionRequest
    entitlement: EntitlementBoundary
    days_left: int


def _in_force(until: date, today: date) -> list[EntitlementBoundary]:
    """Active versions of approved exceptions that end between today and ``until``, soonest first."""
    return list(db.session.scalars(
        select(EntitlementBoundary).join(ExceptionRequest, ExceptionRequest.pk == EntitlementBoundary.request_pk)
        .where(EntitlementBoundary.status == "active", ExceptionRequest.state == RequestState.APPROVED,
               EntitlementBoundary.expires_at >= today, EntitlementBoundary.expires_at <= until)
        .options(joinedload(EntitlementBoundary.request))
        .order_by(EntitlementBoundary.expires_at, EntitlementBoundary.id).limit(LIMIT)))


def ending(window: str, today: date) -> list[Ending]:
    """The exceptions ending in ``window`` (a key of ``WINDOWS``)."""
    if window == "notice":
        rows = [e for e in _in_force(today + timedelta(days=MAX_NOTICE_DAYS), today)
                if notice_due(e.expires_at, e.notice_days, today)]
    else:
        rows = _in_force(today + timedelta(days=int(window)), today)
    return [Ending(e.request, e, (e.expires_at - today).days) for e in rows]


def by_month(today: date, months: int = 12) -> list[tuple[str, int]]:
    """How many exceptions in force end in each of the next ``months`` calendar months (this one first)."""
    first = today.replace(day=1)
    labels = []
    year, month = first.year, first.month
    for _ in range(months):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    end = date(year, month, 1) - timedelta(days=1)
    counts = Counter(e.expires_at.strftime("%Y-%m") for e in _in_force(end, today))
    return [(label, counts.get(label, 0)) for label in labels]
