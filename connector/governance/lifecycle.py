"""Lifecycle rules (SPEC §2.4): which changes a request's state allows, and what they produce."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from connector.governance.errors import InvalidInput, StateConflict
from connector.governance.policy import Policy
from connector.governance.review import check_period


def require_state(action: str, state: str, allowed: tuple[str, ...]) -> None:
    if state not in allowed:
        raise StateConflict(f"cannot_{action}",
                            f"A request that is {state} cannot be {action}ed; allowed from: {', '.join(allowed)}.",
                            {"state": state, "allowed": list(allowed)})


#: what an amendment or renewal may change
BOUNDARIES = ("grants", "effective_from", "expires_at", "conditions", "renewal", "success_metrics")


def _no_change(action: str, current: Mapping[str, Any]) -> StateConflict:
    return StateConflict("no_change", f"This {action} changes nothing: the boundaries given are those of the "
                         "current entitlement, so no new version is written and the customer is not told again.",
                         {"expires_at": current["expires_at"].isoformat()})


def require_change(current: Mapping[str, Any], proposed: Mapping[str, Any]) -> None:
    """An amendment must change a boundary: a no-op would write a version and send a reply for nothing."""
    def renewal_terms(ent: Mapping[str, Any]) -> tuple[Any, Any]:
        return ent["renewal"]["mode"], ent["renewal"]["notice_days"]

    if (all(current[key] == proposed[key] for key in BOUNDARIES if key != "renewal")
            and renewal_terms(current) == renewal_terms(proposed)):
        raise _no_change("amendment", current)


def renewal(current: Mapping[str, Any], new_expiry: date, policy: Policy, today: date) -> dict[str, Any]:
    """The boundaries of a renewal: same grants, a later expiry, within the policy's maximum from today."""
    if new_expiry == current["expires_at"]:
        raise _no_change("renewal", current)
    if new_expiry <= current["expires_at"]:
        raise InvalidInput("renewal_not_later", "A renewal must move expires_at later.",
                           {"fields": {"expires_at": [f"Must be after {current['expires_at']}."]}})
    check_period(max(today, current["effective_from"]), new_expiry, policy, "expires_at")  # a renew body's field
    return {**current, "expires_at": new_expiry}


def auto_renewal_expiry(current: Mapping[str, Any], policy: Policy) -> date:
    """An automatic renewal repeats the original duration, capped at the policy maximum."""
    duration = (current["expires_at"] - current["effective_from"]).days
    return current["expires_at"] + timedelta(days=min(duration, policy.max_duration_days))


def revocation_date(effective: date | None, current: Mapping[str, Any], today: date) -> date:
    when = effective or today
    if when < current["effective_from"]:
        raise InvalidInput("revocation_before_start", "A revocation cannot take effect before the exception did.",
                           {"fields": {"effective": [f"On or after {current['effective_from']}."]}})
    return when


def expiry_due(expires_at: date, today: date) -> bool:
    """``expires_at`` is the last day covered: the exception expires once that day has passed."""
    return today > expires_at


def notice_due(expires_at: date, notice_days: int, today: date) -> bool:
    return today >= expires_at - timedelta(days=notice_days)
