"""Policy simulation over the stored requests: which requests a draft policy would treat differently, before
anyone saves it (``POST /api/v1/policy/simulate``, ``policy simulate FILE``, the policy editor's Simulate button,
and the totals a saved policy version's audit event records).

The population is every request created since ``since`` (default: the last 12 months) plus every one still open
or holding an active exception, however old. Each is assessed from its stored fields under the policy in force and
under the draft (``connector.governance.simulation``); nothing is written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import or_, select

from connector.db import db
from connector.governance.errors import InvalidInput
from connector.governance.policy import Policy
from connector.governance.schema import load_fields
from connector.governance.simulation import Case, simulate
from connector.governance.states import OPEN_STATES, RequestState
from connector.models import ExceptionRequest, utcnow

#: how far back the simulation looks when no ``since`` is given
DEFAULT_WINDOW = timedelta(days=365)
#: the states whose requests are simulated whatever their age: undecided, or an exception in force
LIVE_STATES = (*OPEN_STATES, RequestState.APPROVED)


def parse_since(value: Any, field: str = "since") -> datetime | None:
    """``since`` as an ISO date or date-time (a date means its start, UTC); None when not given."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time.min)
    else:
        try:
            text = str(value)
            moment = (datetime.fromisoformat(text) if len(text) > 10
                      else datetime.combine(date.fromisoformat(text), time.min))
        except ValueError as exc:
            raise InvalidInput("invalid_input", f"'{field}' is not an ISO date or date-time; nothing was simulated.",
                               {"fields": {field: ["Give an ISO date (YYYY-MM-DD) or date-time."]}}) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cases(since: datetime) -> tuple[list[Case], int]:
    """The requests to simulate (oldest first), and how many were left out because their stored fields no longer
    read as governance fields."""
    cols = (ExceptionRequest.id, ExceptionRequest.key, ExceptionRequest.state, ExceptionRequest.fields,
            ExceptionRequest.completed_at, ExceptionRequest.risk_overrides)
    query = (select(*cols)
             .where(or_(ExceptionRequest.created_at >= since, ExceptionRequest.state.in_(LIVE_STATES)))
             .order_by(ExceptionRequest.pk))
    found: list[Case] = []
    skipped = 0
    for row in db.session.execute(query):
        try:
            typed = load_fields(dict(row.fields or {}))
        except ValidationError:
            skipped += 1
            continue
        found.append(Case(row.id, row.key or row.id, row.state, typed, row.completed_at, row.risk_overrides or {}))
    return found, skipped


def run(current: Policy, draft: Policy, since: datetime | None = None) -> dict[str, Any]:
    """The simulation as the API answers it: the differing requests and the totals, over the population."""
    start = since or utcnow() - DEFAULT_WINDOW
    population, skipped = cases(start)
    result = simulate(population, current, draft).to_dict()
    return {"current_version": current.version, "since": start.isoformat(), "skipped": skipped, **result}


def totals_line(totals: dict[str, Any]) -> str:
    """The totals in one sentence (the CLI's and the editor's summary)."""
    bands = "; ".join(f"{m['requests']} {m['from']}→{m['to']}" for m in totals["band_moves"]) or "none"
    load = "; ".join(f"{role} {v['change']:+d}" for role, v in totals["reviewer_load"].items() if v["change"])
    return (f"{totals['changed']} of {totals['requests']} request(s) would change: {totals['to_fast_track']} to "
            f"the fast track, {totals['to_standard_track']} to the standard track; band moves: {bands}; reviewer "
            f"load: {load or 'unchanged'}.")


__all__ = ["DEFAULT_WINDOW", "LIVE_STATES", "cases", "parse_since", "run", "totals_line"]
