"""A request's predefined outcome as a decision starts from it, and whether a decision keeps to it.

The policy's ``outcomes`` (``connector.governance.outcomes``) are pure; this module applies them to a stored
request: the entitlement a decision form and ``GET …/decision/prefill`` start from, the body ``POST …/decision``
completes when it asks for the predefined outcome, and the verdict (standard or bespoke, with the departures) a
recorded decision carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from connector.governance.outcomes import Verdict, judge, prefill
from connector.governance.policy import Policy
from connector.governance.schema import dump_terms, load_fields
from connector.models import ExceptionRequest


def _typed(req: ExceptionRequest) -> dict[str, Any]:
    return load_fields(dict(req.fields or {}))


def outcome_view(outcome: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The category's predefined outcome as the API shows it (every bound named, null when it does not limit)."""
    if outcome is None:
        return None
    return {"description": outcome.get("description") or "",
            **{bound: outcome.get(bound) for bound in ("max_seat_increase_ratio", "max_seats_added",
                                                       "max_duration_days", "max_term_extension_days")},
            "allowed": {term: list(values) for term, values in (outcome.get("allowed") or {}).items()},
            "conditions": list(outcome.get("conditions") or []),
            "success_metrics": list(outcome.get("success_metrics") or []),
            "fast_track_may_grant": bool(outcome.get("fast_track_may_grant", True))}


def prefill_for(req: ExceptionRequest, policy: Policy, today: date) -> dict[str, Any]:
    """What a decision on ``req`` starts from: the category's predefined outcome applied to the requested terms
    (the requested terms as they are when the category has none), as a decision body's ``entitlement``."""
    outcome = policy.outcome(req.category)
    start = prefill(outcome or {}, _typed(req), today)
    expires = start["expires_at"]
    entitlement = {"grants": dump_terms(start["grants"]), "effective_from": start["effective_from"].isoformat(),
                   "expires_at": expires.isoformat() if expires else None, "conditions": start["conditions"],
                   "renewal": {"mode": "manual", "notice_days": policy.default_notice_days},
                   "success_metrics": start["success_metrics"]}
    return {"category": req.category, "policy_version": policy.version, "predefined": outcome_view(outcome),
            "outcome": "approved_with_conditions" if start["conditions"] else "approved",
            "entitlement": entitlement}


def starting_entitlement(req: ExceptionRequest, policy: Policy, today: date,
                         given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The predefined entitlement with the boundaries ``given`` put over it (each key given replaces the
    predefined one): ``POST …/decision`` with ``use_predefined_outcome``."""
    base = {key: value for key, value in prefill_for(req, policy, today)["entitlement"].items() if value is not None}
    return {**base, **dict(given or {})}


def verdict_for(req: ExceptionRequest, policy: Policy, outcome_name: str,
                entitlement: Mapping[str, Any] | None) -> Verdict:
    """Whether a decision with these (validated) boundaries is the category's predefined outcome."""
    return judge(policy.outcome(req.category), _typed(req), entitlement, outcome_name, req.track)


__all__ = ["outcome_view", "prefill_for", "starting_entitlement", "verdict_for"]
