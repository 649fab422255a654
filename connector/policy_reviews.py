"""Periodic policy reviews: the worker opens one when the policy's cadence is due, with the issuance-pattern report
of the period (``governance.issuance``); the review's owners record findings and close it. Every step is audited.

A review's period runs from the end of the previous one (the first: from when the first policy version was
stored) to the moment it opens; the next is due ``review.cadence_days`` after that end.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from connector import audit
from connector.db import db
from connector.feedback import feedback_summary
from connector.governance.errors import InvalidInput, NotPermitted, StateConflict
from connector.governance.issuance import DisputeFacts, ExpiryFacts, IssuanceFacts, issuance_report, rule_values
from connector.governance.policy import Policy
from connector.models import (
    Decision,
    Dispute,
    EntitlementBoundary,
    ExceptionRequest,
    PolicyReview,
    PolicyVersion,
    Principal,
    utcnow,
)
from connector.policy_store import current_policy

#: the report's sections a finding may be about
AREAS = ("volume", "repeat_customers", "standard_term_candidates", "disputes", "sla_breaches", "risk_overrides",
         "expired_unrenewed", "other")


def _voted_by_due(req: ExceptionRequest) -> frozenset[str]:
    if req.due_at is None:
        return frozenset()
    return frozenset(v.role for v in req.votes if v.review_round == req.review_round and v.created_at <= req.due_at)


def _first_grants(req: ExceptionRequest) -> dict[str, Any] | None:
    first = next((e for e in req.entitlements if e.change == "approved"), None)
    return dict(first.grants) if first is not None else None


def _facts(req: ExceptionRequest, policy: Policy) -> IssuanceFacts:
    stored = req.fields or {}
    customer = stored.get("customer") or {}
    overrides = {d: int(o["value"]) for d, o in (req.risk_overrides or {}).items()}
    return IssuanceFacts(
        id=req.id, key=req.key, category=req.category or "uncategorized",
        segment=customer.get("segment") or "(unknown)",
        regions=tuple((stored.get("requested_terms") or {}).get("regions") or ()), source=req.source,
        customer=customer.get("account_id") or customer.get("name"), state=req.state, created_at=req.created_at,
        decided_at=req.first_decided_at, last_decided_at=req.decided_at, outcome=req.outcome, due_at=req.due_at,
        granted=_first_grants(req),
        required_roles=tuple(policy.required_roles(req.track, req.risk_band)) if req.due_at else (),
        voted_by_due=_voted_by_due(req), overrides=overrides,
        computed=rule_values((req.risk or {}).get("explanation") or []))


def _disputes(start: datetime, end: datetime) -> list[DisputeFacts]:
    rows = db.session.execute(select(Dispute, ExceptionRequest.key, ExceptionRequest.pk)
                              .join(ExceptionRequest, ExceptionRequest.pk == Dispute.request_pk)
                              .where(Dispute.created_at >= start, Dispute.created_at < end)).all()
    decisions: dict[int, list[Decision]] = defaultdict(list)
    pks = {pk for _, _, pk in rows}
    for dec in db.session.scalars(select(Decision).where(Decision.request_pk.in_(pks)).order_by(Decision.id)):
        decisions[dec.request_pk].append(dec)
    found = []
    for dispute, key, pk in rows:
        before = [d for d in decisions[pk] if d.decided_at <= dispute.created_at]
        after = [d for d in decisions[pk] if d.decided_at > dispute.created_at]
        found.append(DisputeFacts(key, dispute.created_at, dispute.reason, before[-1].outcome if before else None,
                                  after[0].outcome if after else None))
    return found


def _expiries(start: datetime, end: datetime) -> list[ExpiryFacts]:
    rows = db.session.execute(
        select(EntitlementBoundary.expires_at, ExceptionRequest.key, ExceptionRequest.category,
               ExceptionRequest.customer_name)
        .join(ExceptionRequest, ExceptionRequest.pk == EntitlementBoundary.request_pk)
        .where(EntitlementBoundary.change == "expired", ExceptionRequest.state == "expired",
               EntitlementBoundary.expires_at >= start.date(), EntitlementBoundary.expires_at <= end.date())).all()
    return [ExpiryFacts(key, category or "uncategorized", customer, expires) for expires, key, category, customer
            in rows]


def build_report(start: datetime, end: datetime, policy: Policy) -> dict[str, Any]:
    """The issuance-pattern report over ``[start, end)`` from the stored requests."""
    rows = db.session.scalars(
        select(ExceptionRequest).where(ExceptionRequest.created_at >= start, ExceptionRequest.created_at < end)
        .options(selectinload(ExceptionRequest.votes), selectinload(ExceptionRequest.entitlements))).all()
    report = issuance_report([_facts(r, policy) for r in rows], _disputes(start, end), _expiries(start, end),
                             start, end, int(policy.review["standard_terms_min_approvals"]))
    # what customers and partners said about the period's decisions (the feedback links in customer summaries)
    return {**report, "feedback": feedback_summary(start, end)}


def _last_end() -> datetime | None:
    """Where the next review's period starts: the last review's end, or when the first policy was stored."""
    last = db.session.scalar(select(func.max(PolicyReview.period_end)))
    if last is not None:
        return last  # type: ignore[no-any-return]
    return db.session.scalar(select(func.min(PolicyVersion.created_at)))


def next_due() -> datetime | None:
    start = _last_end()
    if start is None:
        return None
    return start + timedelta(days=int(current_policy().review["cadence_days"]))


def open_review(actor: str, now: datetime | None = None) -> PolicyReview:
    """Open a review over the period since the last one (audited)."""
    now = now or utcnow()
    policy = current_policy()
    start = _last_end() or now
    row = PolicyReview(period_start=start, period_end=now, policy_version=policy.version, status="open",
                       owners=list(policy.review["owners"]), report=build_report(start, now, policy), findings=[],
                       opened_by=actor, opened_at=now)
    db.session.add(row)
    db.session.flush()
    totals = row.report["totals"]
    audit.append(actor, "policy_review.opened", f"policy_review:{row.id}",
                 {"review_id": row.id, "period_start": start, "period_end": now, "policy_version": policy.version,
                  "owners": row.owners, "requests": totals["requests"], "decided": totals["decided"]})
    return row


def run_reviews(now: datetime | None = None, actor: str = "worker") -> dict[str, int]:
    """The worker's job: open a review when the policy's cadence says one is due."""
    now = now or utcnow()
    due = next_due()
    if due is None or now < due:
        return {"opened": 0}
    open_review(actor, now)
    return {"opened": 1}


def _require_owner(row: PolicyReview, principal: Principal) -> None:
    held = set(principal.committee_roles or ())
    if not held & set(row.owners or ()):
        raise NotPermitted("review_owner_only", f"Only the review's owners ({', '.join(row.owners)}) record "
                           "findings and close it.", {"owners": list(row.owners), "held": sorted(held)})
    if row.status != "open":
        raise StateConflict("review_closed", f"Review {row.id} was closed on {row.closed_at:%Y-%m-%d}; nothing can "
                            "be added to it.", {"status": row.status})


def _text(value: str, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput("invalid_input", f"Say something in '{field}'; nothing was changed.",
                           {"fields": {field: ["Required."]}})
    if len(text) > limit:
        raise InvalidInput("invalid_input", f"'{field}' is longer than {limit} characters; nothing was changed.",
                           {"fields": {field: [f"At most {limit} characters."]}})
    return text


def record_finding(row: PolicyReview, principal: Principal, finding: str, area: str | None,
                   recommendation: str | None) -> dict[str, Any]:
    """An owner's finding (audited)."""
    _require_owner(row, principal)
    item = {"n": len(row.findings or []) + 1, "finding": _text(finding, "finding", 5000), "area": area,
            "recommendation": (recommendation or "").strip() or None, "by": principal.name,
            "at": utcnow().isoformat()}
    row.findings = [*(row.findings or []), item]
    audit.append(principal.name, "policy_review.finding_recorded", f"policy_review:{row.id}",
                 {"review_id": row.id, **item})
    db.session.flush()
    return item


def close(row: PolicyReview, principal: Principal, summary: str) -> PolicyReview:
    """An owner closes the review with a summary (audited); it is then read-only."""
    _require_owner(row, principal)
    row.summary = _text(summary, "summary", 10000)
    row.status, row.closed_by, row.closed_at = "closed", principal.name, utcnow()
    audit.append(principal.name, "policy_review.closed", f"policy_review:{row.id}",
                 {"review_id": row.id, "summary": row.summary, "findings": len(row.findings or [])})
    db.session.flush()
    return row


def review_view(row: PolicyReview, *, report: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id, "status": row.status, "period_start": row.period_start.isoformat(),
        "period_end": row.period_end.isoformat(), "policy_version": row.policy_version, "owners": list(row.owners),
        "opened_by": row.opened_by, "opened_at": row.opened_at.isoformat(), "findings": list(row.findings or []),
        "closed_by": row.closed_by, "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "summary": row.summary, "totals": (row.report or {}).get("totals")}
    if report:
        view["report"] = row.report
    return view


def find(review_id: int) -> PolicyReview | None:
    return db.session.get(PolicyReview, review_id)


def latest_closed() -> dict[str, Any] | None:
    """The latest closed review, as the published transparency summary may link it: its id, period, when it was
    closed and how many findings it recorded (no report, no names)."""
    row = db.session.scalars(select(PolicyReview).where(PolicyReview.status == "closed")
                             .order_by(PolicyReview.closed_at.desc(), PolicyReview.id.desc()).limit(1)).first()
    if row is None or row.closed_at is None:
        return None
    return {"id": row.id, "period_start": row.period_start.isoformat(), "period_end": row.period_end.isoformat(),
            "closed_at": row.closed_at.isoformat(), "findings": len(row.findings or []),
            "path": f"policy/reviews/{row.id}"}
