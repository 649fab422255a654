"""The published summary (opt-in ``CONNECTOR_PUBLIC_SUMMARY``): how exceptions are governed, and aggregates only.

What it shows is the policy's approach (tracks and what qualifies for the fast track, categories and their standard
outcome, committee roles, SLA targets) and figures over the stored decisions. It never shows a customer's name, a
requested or granted term, a rationale or a note: it is built from :class:`DecisionFacts` (which hold none) and the
policy. A figure is shown only when it counts at least ``CONNECTOR_PUBLIC_MIN_COUNT`` requests, so a small group
cannot be traced to one customer; categories below the minimum are pooled, and the pool is shown only when it too
reaches the minimum.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from connector.governance.metrics import APPROVING_OUTCOMES, DecisionFacts
from connector.governance.policy import Policy

POOLED = "other categories (pooled)"


def approach(policy: Policy) -> dict[str, Any]:
    """The policy's approach in plain terms (no customer data is in a policy)."""
    fast = policy.data["fast_track"]
    sla = policy.sla
    outcomes = policy.data.get("outcomes") or {}
    return {
        "policy_version": policy.version,
        "tracks": {
            "fast": {"decided_by": f"the {policy.chair} chair alone",
                     "sla_business_days": sla["fast"]["business_days"],
                     "qualifies_when": {"categories": list(fast["categories"]),
                                        "max_revenue_impact": fast["max_revenue_impact"],
                                        "currency": policy.data["base_currency"],
                                        "max_user_base": fast["max_user_base"],
                                        "data_sensitivity": list(fast["data_sensitivity"]),
                                        "max_duration_days": fast["max_duration_days"]}},
            "standard": {"decided_by": "the committee roles the risk band requires, then the chair",
                         "sla_business_days": sla["standard"]["business_days"]},
        },
        "categories": [{"name": name, "standard_outcome": (outcomes.get(name) or {}).get("description") or None}
                       for name in policy.categories],
        "committee": {"roles": policy.committee_roles, "chair": policy.chair,
                      "required_by_band": {band: list(roles) for band, roles
                                           in policy.data["committee"]["required_by_band"].items()}},
        "sla": {"fast_business_days": sla["fast"]["business_days"],
                "standard_business_days": sla["standard"]["business_days"],
                "reminder_at_fraction": sla["reminder_fraction"]},
        "max_exception_days": policy.max_duration_days,
    }


def _hours(fact: DecisionFacts) -> float | None:
    if fact.decided_at is None or fact.completed_at is None:
        return None
    return (fact.decided_at - fact.completed_at).total_seconds() / 3600


def _figures(decided: list[DecisionFacts]) -> dict[str, Any]:
    hours = [h for f in decided if (h := _hours(f)) is not None]
    with_outcome = [f for f in decided if f.outcome]
    approved = sum(f.outcome in APPROVING_OUTCOMES for f in with_outcome)
    return {"decided": len(decided),
            "approval_rate": round(approved / len(with_outcome), 4) if with_outcome else None,
            "median_hours_to_decide": round(statistics.median(hours), 2) if hours else None}


def aggregates(facts: Iterable[DecisionFacts], min_count: int) -> dict[str, Any]:
    """Volume, approval rate and median time to decision, overall and by category, each only when at least
    ``min_count`` requests stand behind it (``None`` otherwise, with ``suppressed`` saying so)."""
    facts = list(facts)
    decided = [f for f in facts if f.decided_at is not None]
    overall_ok = len(decided) >= min_count
    grouped: dict[str, list[DecisionFacts]] = {}
    for fact in decided:
        grouped.setdefault(fact.category, []).append(fact)
    by_category: dict[str, dict[str, Any]] = {}
    pooled: list[DecisionFacts] = []
    for name in sorted(grouped):
        if len(grouped[name]) >= min_count:
            by_category[name] = _figures(grouped[name])
        else:
            pooled.extend(grouped[name])
    if len(pooled) >= min_count:
        by_category[POOLED] = _figures(pooled)
    return {
        "min_count": min_count,
        "requests": len(facts) if len(facts) >= min_count else None,
        "overall": _figures(decided) if overall_ok else None,
        "by_category": by_category,
        "suppressed_note": f"Figures that would count fewer than {min_count} requests are not published.",
    }


def public_summary(policy: Policy, facts: Iterable[DecisionFacts], feedback: dict[str, Any], min_count: int,
                   now: datetime, review: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole published summary; ``feedback``: ``connector.feedback.feedback_summary()`` (only its count and
    average are published, and only from ``min_count`` answers); ``review``: ``policy_reviews.latest_closed()``
    (only its period, when it was closed and how many findings it recorded are published)."""
    enough = int(feedback.get("count") or 0) >= min_count
    return {
        "generated_at": now.isoformat(),
        "approach": approach(policy),
        "aggregates": aggregates(facts, min_count),
        "feedback": {"answers": feedback["count"] if enough else None,
                     "average_clarity": feedback["average_clarity"] if enough else None},
        "policy_review": None if review is None else {
            k: review[k] for k in ("period_start", "period_end", "closed_at", "findings")},
    }
