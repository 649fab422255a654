"""Where a request stands with the systems it is written to: the last delivery per target, in words.

The outbox keeps every delivery; a person wants one line per target ("written to Salesforce 06:41",
"billing: retrying, next in 2 min", "dead: <error>") and a Retry button where one helps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from connector.db import db
from connector.models import Delivery, DeliveryStatus, ExceptionRequest
from connector.sources import kinds
from connector.web.filters import span, when


@dataclass(frozen=True)
class Standing:
    """One target's last delivery for one request."""

    target: str
    label: str  # "Salesforce record a0X…", "Zendesk ticket 42", "Billing", "E-mail"
    state: str  # delivered | waiting | retrying | dead | superseded
    words: str
    delivery: Delivery
    retriable: bool


def target_label(req: ExceptionRequest, target: str) -> str:
    """The target as a person names it: the source's record or ticket, billing, e-mail."""
    if target == "billing":
        return "Billing"
    if target == "email":
        return "E-mail"
    if target.startswith("connection:") and req.connection is not None:
        kind = kinds().get(req.connection.kind)
        label = kind.label if kind is not None else req.connection.kind
        noun = "ticket" if req.connection.kind == "zendesk" else "record"
        return f"{label} {noun} {req.external_id}" if req.external_id else f"{label} ({req.connection.name})"
    return target.split(":", 1)[-1]


def _system(req: ExceptionRequest, target: str) -> str:
    if target.startswith("connection:") and req.connection is not None:
        kind = kinds().get(req.connection.kind)
        return kind.label if kind is not None else req.connection.kind
    return {"billing": "billing", "email": "the mail server"}.get(target, target)


def _short_time(value: datetime | None, now: datetime) -> str:
    """``06:41`` today, ``2026-12-01 06:41`` before (UTC, as every time on the pages)."""
    if value is None:
        return ""
    return value.strftime("%H:%M UTC") if value.date() == now.date() else when(value)


def describe(req: ExceptionRequest, row: Delivery, now: datetime) -> Standing:
    system = _system(req, row.target)
    error = (row.last_error or "").strip()
    if row.status == DeliveryStatus.DELIVERED:
        state, text = "delivered", f"Written to {system} {_short_time(row.delivered_at, now)} ({row.change})"
    elif row.status == DeliveryStatus.DEAD:
        state, text = "dead", f"Dead after {row.attempts} attempt(s): {error or 'no error recorded'}"
    elif row.status == DeliveryStatus.SUPERSEDED:
        state, text = "superseded", f"Replaced by a newer change before it was sent ({row.change})"
    elif row.attempts:
        wait = (row.next_attempt_at - now).total_seconds()
        next_in = f"next in {span(wait)}" if wait > 0 else "next attempt due now"
        state, text = "retrying", f"Retrying, {next_in} (attempt {row.attempts} failed: {error or 'no detail'})"
    else:
        state, text = "waiting", f"Waiting for the worker since {_short_time(row.created_at, now)} ({row.change})"
    return Standing(row.target, target_label(req, row.target), state, text, row,
                    retriable=row.status in (DeliveryStatus.DEAD,))


def where_it_stands(req: ExceptionRequest, now: datetime) -> list[Standing]:
    """The newest delivery of each target this request was sent to, source first, then billing, then e-mail."""
    newest = (select(func.max(Delivery.id)).where(Delivery.request_pk == req.pk).group_by(Delivery.target))
    rows = db.session.scalars(select(Delivery).where(Delivery.id.in_(newest))).all()
    order = {"connection": 0, "billing": 1, "email": 2}
    rows = sorted(rows, key=lambda d: (order.get(d.target.split(":", 1)[0], 3), d.target))
    return [describe(req, row, now) for row in rows]
