"""Finding requests, for the Requests page and ``requests list``: text search, every filter the API's list has,
sorting, the expiry.

The filters are the API's (``GET /api/v1/requests``: state, band, track, category, source, connection, overdue);
the page and the command add a search over key, customer, title and requester, and sorting by due date, risk and
expiry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, String, and_, cast, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from connector.db import db
from connector.governance.states import STATES
from connector.models import Connection, EntitlementBoundary, ExceptionRequest
from connector.sources import kinds

BANDS = ("low", "medium", "high", "critical")
TRACKS = ("fast", "standard")
SORTS = {"newest": "Newest first", "due": "Due soonest", "risk": "Highest risk", "expiry": "Expiring soonest"}
MAX_QUERY = 200


def sources() -> tuple[str, ...]:
    """Every registered source kind, and ``api`` (requests filed through the API)."""
    return (*kinds().keys(), "api")


@dataclass
class RequestFilters:
    q: str = ""
    state: str = ""
    band: str = ""
    track: str = ""
    category: str = ""
    source: str = ""
    connection: str = ""
    overdue: str = ""  # "" | "yes" | "no"
    sort: str = "newest"
    problems: dict[str, str] = field(default_factory=dict)  # filter name -> what is wrong with its value

    def args(self) -> dict[str, str]:
        """The non-empty filters as query arguments (for the pager and the sort links)."""
        return {k: v for k, v in self.__dict__.items() if k != "problems" and v and not (k == "sort" and
                                                                                        v == "newest")}


def _choice(value: str, allowed: tuple[str, ...] | list[str], name: str, problems: dict[str, str]) -> str:
    if value and value not in allowed:
        problems[name] = f"Unknown {name} '{value}'. Use one of: {', '.join(allowed)}."
        return ""
    return value


def read_filters(args: Mapping[str, str]) -> RequestFilters:
    """The query arguments, each checked; an unknown value is named in ``problems`` (the page's 400)."""
    problems: dict[str, str] = {}
    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY:
        problems["q"] = f"The search is longer than {MAX_QUERY} characters."
        q = q[:MAX_QUERY]
    return RequestFilters(
        q=q, state=_choice(args.get("state") or "", STATES, "state", problems),
        band=_choice(args.get("band") or "", BANDS, "band", problems),
        track=_choice(args.get("track") or "", TRACKS, "track", problems),
        category=(args.get("category") or "").strip()[:64],
        source=_choice(args.get("source") or "", sources(), "source", problems),
        connection=(args.get("connection") or "").strip()[:100],
        overdue=_choice(args.get("overdue") or "", ("yes", "no"), "overdue", problems),
        sort=_choice(args.get("sort") or "newest", tuple(SORTS), "sort", problems) or "newest",
        problems=problems)


def expiry_column() -> Any:
    """Each request's current entitlement expiry (its newest version), as a subquery to join."""
    newest = (select(EntitlementBoundary.request_pk, func.max(EntitlementBoundary.version).label("version"))
              .group_by(EntitlementBoundary.request_pk).subquery())
    return (select(EntitlementBoundary.request_pk, EntitlementBoundary.expires_at, EntitlementBoundary.status)
            .join(newest, and_(EntitlementBoundary.request_pk == newest.c.request_pk,
                               EntitlementBoundary.version == newest.c.version))
            .subquery())


def _like(column: Any, text: str) -> ColumnElement[bool]:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")


def _search(text: str) -> ColumnElement[bool]:
    """Key, customer, title, requester name or e-mail contain the text (case-insensitive)."""
    requester = ExceptionRequest.fields["requester"]
    return or_(_like(ExceptionRequest.key, text), _like(ExceptionRequest.customer_name, text),
               _like(ExceptionRequest.title, text), _like(cast(requester, String), text))


def build_query(f: RequestFilters, now: datetime) -> Select[Any]:
    expiry = expiry_column()
    query = select(ExceptionRequest, expiry.c.expires_at, expiry.c.status).outerjoin(
        expiry, expiry.c.request_pk == ExceptionRequest.pk)
    if f.q:
        query = query.where(_search(f.q))
    for name in ("state", "track", "category", "source"):
        if getattr(f, name):
            query = query.where(getattr(ExceptionRequest, name) == getattr(f, name))
    if f.band:
        query = query.where(ExceptionRequest.risk_band == f.band)
    if f.connection:
        query = query.join(Connection, Connection.id == ExceptionRequest.connection_id).where(
            Connection.name == f.connection)
    if f.overdue:
        overdue = (ExceptionRequest.state == "in_review") & (ExceptionRequest.due_at < now)
        query = query.where(overdue if f.overdue == "yes" else ~overdue | ExceptionRequest.due_at.is_(None))
    orders: dict[str, list[Any]] = {
        "newest": [],
        "due": [ExceptionRequest.due_at.asc().nulls_last()],
        "risk": [ExceptionRequest.risk_score.desc().nulls_last()],
        "expiry": [expiry.c.expires_at.asc().nulls_last()],
    }
    return query.order_by(*orders[f.sort], ExceptionRequest.pk.desc())


@dataclass(frozen=True)
class Row:
    request: ExceptionRequest
    expires_at: date | None
    entitlement_status: str | None


def find(f: RequestFilters, now: datetime, page: int, size: int) -> tuple[list[Row], bool]:
    """One page of matching requests (``page`` from 1) and whether there is another."""
    rows = db.session.execute(build_query(f, now).offset((page - 1) * size).limit(size + 1)).all()
    return [Row(r[0], r[1], r[2]) for r in rows[:size]], len(rows) > size
