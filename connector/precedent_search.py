"""Precedents for a stored request: the decided requests most like it (one query, the domain's ranking)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connector.db import db
from connector.governance.precedents import rank_precedents
from connector.models import ExceptionRequest
from connector.policy_store import current_policy
from connector.representation import iso

CANDIDATES = 10000  # the most recently decided requests are compared


def candidate(req: ExceptionRequest) -> dict[str, Any]:
    """What the ranking compares: category, term keys, magnitudes, segment, and the latest decision."""
    fields = req.fields or {}
    last = req.decisions[-1] if req.decisions else None
    return {
        "id": req.id, "key": req.key, "category": req.category,
        "requested_terms": fields.get("requested_terms") or {}, "revenue_impact": fields.get("revenue_impact"),
        "customer": {"segment": (fields.get("customer") or {}).get("segment")},
        "user_base": fields.get("user_base"),
        "decision": {"outcome": last.outcome, "rationale": last.rationale, "decided_at": iso(last.decided_at)}
        if last else None,
    }


def precedents_for(req: ExceptionRequest, limit: int = 5) -> list[dict[str, Any]]:
    decided = db.session.scalars(
        select(ExceptionRequest).where(ExceptionRequest.first_decided_at.is_not(None),
                                       ExceptionRequest.pk != req.pk)
        .order_by(ExceptionRequest.decided_at.desc()).limit(CANDIDATES)
    ).all()
    ranked = rank_precedents(candidate(req) | {"decision": None}, (candidate(r) for r in decided), limit,
                             fx_rates=current_policy().data.get("fx_rates"))
    return [p.to_dict() for p in ranked]
