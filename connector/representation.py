"""The public JSON shapes of SPEC §7.4, built from the models (one place, used by API, UI and deliveries)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.config import settings
from connector.governance import review
from connector.governance.policy import Policy
from connector.governance.schema import FIELD_NAMES
from connector.governance.states import RequestState
from connector.models import Decision, EntitlementBoundary, ExceptionRequest, Vote, utcnow
from connector.policy_store import current_policy


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def request_url(req: ExceptionRequest) -> str:
    return f"{settings().public_url}/requests/{req.key}"


def is_overdue(req: ExceptionRequest, now: datetime | None = None) -> bool:
    return bool(req.state == "in_review" and req.due_at is not None and (now or utcnow()) > req.due_at)


def vote_view(vote: Vote) -> dict[str, Any]:
    return {"role": vote.role, "vote": vote.vote, "rationale": vote.rationale, "voter": vote.voter,
            "round": vote.review_round, "cast_at": iso(vote.created_at)}


def entitlement_view(ent: EntitlementBoundary | None) -> dict[str, Any] | None:
    if ent is None:
        return None
    return {
        "version": ent.version, "change": ent.change, "status": ent.status, "grants": ent.grants,
        "effective_from": iso(ent.effective_from), "expires_at": iso(ent.expires_at),
        "conditions": list(ent.conditions or []),
        "renewal": {"mode": ent.renewal_mode, "notice_days": ent.notice_days},
        "success_metrics": list(ent.success_metrics or []), "supersedes": ent.supersedes,
        "revoke_effective": iso(ent.revoke_effective),
    }


def decision_view(dec: Decision | None) -> dict[str, Any] | None:
    if dec is None:
        return None
    return {"outcome": dec.outcome, "rationale": dec.rationale, "decided_by": dec.decided_by,
            "decided_at": iso(dec.decided_at), "customer_summary": dec.customer_summary,
            "internal_note": dec.internal_note, "entitlement_version": dec.entitlement_version,
            "bespoke": dec.bespoke, "departures": list(dec.departures or [])}


def current_votes(req: ExceptionRequest) -> list[review.CastVote]:
    """The votes of the current review round (a reopened review starts a new round)."""
    return [review.CastVote(v.role, v.vote, v.voter, v.rationale)
            for v in req.votes if v.review_round == req.review_round]


def review_view(req: ExceptionRequest, policy: Policy) -> dict[str, list[str]]:
    """Which committee roles a request in review needs, and which of them have not voted yet this round (the
    chair alone decides the fast track, so nobody's vote is awaited there)."""
    if req.state != RequestState.IN_REVIEW:
        return {"required_roles": [], "waiting": []}
    required = policy.required_roles(req.track, req.risk_band)
    voted = review.latest_by_role(current_votes(req))
    waiting = [role for role in required if role not in voted] if req.track != "fast" else []
    return {"required_roles": list(required), "waiting": waiting}


def current_entitlement(req: ExceptionRequest) -> EntitlementBoundary | None:
    return req.entitlements[-1] if req.entitlements else None


def request_view(req: ExceptionRequest, *, now: datetime | None = None, policy: Policy | None = None) -> dict[str, Any]:
    """The request as API clients, the UI, outbound mappings and templates see it (``policy``: the policy in
    force, when the caller already holds it; looked up otherwise)."""
    stored = req.fields or {}
    view: dict[str, Any] = {name: stored.get(name) for name in FIELD_NAMES}
    risk = dict(req.risk or {}) or None
    view.update({
        "id": req.id,
        "key": req.key,
        "state": req.state,
        "track": req.track,
        "risk": risk,
        "intake": req.intake or {"missing": [], "errors": {}, "conflicts": []},
        "source": req.source,
        "connection": req.connection.name if req.connection is not None else None,
        "external_id": req.external_id,
        "external_url": req.external_url,
        "mapping_version": req.mapping_version,
        "policy_version": req.policy_version,
        "sla": {"due_at": iso(req.due_at), "overdue": is_overdue(req, now)},
        "votes": [vote_view(v) for v in req.votes],
        "review": review_view(req, policy or current_policy()),
        "decision": decision_view(req.decisions[-1] if req.decisions else None),
        "entitlement": entitlement_view(current_entitlement(req)),
        "info_request": req.info_request,
        "review_round": req.review_round,
        "disputes": req.disputes,
        "changed_after_decision": req.changed_after_decision,
        "pending_change": req.pending_change,
        "url": request_url(req) if req.key else None,
        "created_at": iso(req.created_at),
        "updated_at": iso(req.updated_at),
    })
    return view
