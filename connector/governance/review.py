"""Votes, decisions and entitlement boundaries (SPEC §2.4): who may do what, and what a decision must carry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from connector.governance.errors import InvalidInput, NotPermitted, StateConflict
from connector.governance.paths import flatten_errors
from connector.governance.policy import Policy
from connector.governance.schema import TermsSchema, dump_terms
from connector.governance.states import RequestState

VOTE_CHOICES = ("approve", "reject", "request_info")
OUTCOMES = ("approved", "approved_with_conditions", "denied")
APPROVALS = ("approved", "approved_with_conditions")
RENEWAL_MODES = ("none", "manual", "auto")


@dataclass(frozen=True)
class CastVote:
    role: str
    vote: str
    voter: str
    rationale: str | None = None


def check_vote(state: str, holder_roles: Sequence[str], role: str, vote: str, rationale: str | None) -> None:
    """A principal votes only for committee roles it holds, only while the request is in review."""
    if role not in holder_roles:
        raise NotPermitted("committee_role_not_held",
                           f"You do not hold the committee role '{role}'.",
                           {"role": role, "held": list(holder_roles)})
    if state != RequestState.IN_REVIEW:
        raise StateConflict("not_in_review", f"Votes are taken only in review; this request is {state}.",
                            {"state": state})
    if vote in ("reject", "request_info") and not (rationale or "").strip():
        raise InvalidInput("rationale_required", f"A '{vote}' vote needs a rationale.",
                           {"fields": {"rationale": [f"Required for '{vote}'."]}})


def latest_by_role(votes: Iterable[CastVote]) -> dict[str, CastVote]:
    """The latest vote of each role (votes in the order they were cast)."""
    latest: dict[str, CastVote] = {}
    for vote in votes:
        latest[vote.role] = vote
    return latest


def missing_approvals(required: Sequence[str], votes: Iterable[CastVote]) -> list[dict[str, Any]]:
    latest = latest_by_role(votes)
    return [
        {"role": role, "latest_vote": latest[role].vote if role in latest else None}
        for role in required
        if role not in latest or latest[role].vote != "approve"
    ]


def check_decision(
    *,
    state: str,
    track: str | None,
    band: str | None,
    holder_roles: Sequence[str],
    outcome: str,
    votes: Iterable[CastVote],
    policy: Policy,
) -> None:
    """Only the chair decides; approving needs an ``approve`` as every required role's latest vote."""
    if policy.chair not in holder_roles:
        raise NotPermitted("chair_only", f"Only the chair ({policy.chair}) records decisions.",
                           {"chair": policy.chair})
    if state != RequestState.IN_REVIEW:
        raise StateConflict("not_in_review", f"Only a request in review can be decided; this one is {state}.",
                            {"state": state})
    if outcome in APPROVALS and track != "fast":
        missing = missing_approvals(policy.required_roles(track, band), votes)
        if missing:
            roles = [m["role"] for m in missing]
            raise StateConflict(
                "approvals_missing",
                f"Approval needs an 'approve' as the latest vote of: {', '.join(roles)}.",
                {"missing_roles": roles, "votes": missing},
            )


class RenewalSchema(Schema):
    class Meta:
        unknown = RAISE

    mode = fields.String(load_default="manual", validate=validate.OneOf(RENEWAL_MODES))
    notice_days = fields.Integer(strict=False, load_default=None, allow_none=True,
                                 validate=validate.Range(min=0, max=365))


class EntitlementSchema(Schema):
    class Meta:
        unknown = RAISE

    grants = fields.Nested(TermsSchema, required=True)
    effective_from = fields.Date(load_default=None, allow_none=True)
    expires_at = fields.Date(required=True, error_messages={
        "required": "Every exception expires: give expires_at (YYYY-MM-DD)."})
    conditions = fields.List(fields.String(validate=validate.Length(min=1, max=1000)), load_default=list)
    renewal = fields.Nested(RenewalSchema, load_default=lambda: {"mode": "manual", "notice_days": None})
    success_metrics = fields.List(fields.String(validate=validate.Length(min=1, max=1000)), load_default=list)


def validate_entitlement(body: Mapping[str, Any] | None, policy: Policy, today: date, *,
                         prefix: str = "entitlement", outcome: str = "approved") -> dict[str, Any]:
    """The boundaries of an approval: typed, with mandatory expiry within the policy's maximum."""
    if body is None:
        raise InvalidInput("entitlement_required", "An approval must carry entitlement boundaries.",
                           {"fields": {prefix: ["Required for an approval."]}})
    try:
        ent = EntitlementSchema().load(dict(body))
    except ValidationError as exc:
        raise InvalidInput("invalid_entitlement", "The entitlement boundaries are not valid.",
                           {"fields": flatten_errors(exc.messages, prefix)}) from exc
    ent["effective_from"] = ent["effective_from"] or today
    ent["grants"] = dump_terms(ent["grants"])
    if not ent["grants"]:
        raise InvalidInput("grants_required", "Say what the exception grants (a terms object).",
                           {"fields": {f"{prefix}.grants": ["At least one term is required."]}})
    check_period(ent["effective_from"], ent["expires_at"], policy, f"{prefix}.expires_at")
    if ent["expires_at"] <= today:  # billing would be sent terms that ended before they were granted
        raise InvalidInput("already_expired", f"expires_at ({ent['expires_at'].isoformat()}) is not after today "
                           f"({today.isoformat()}): an approval must grant something still in force.",
                           {"fields": {f"{prefix}.expires_at": ["Must be after today."]}})
    if outcome == "approved_with_conditions" and not ent["conditions"]:
        raise InvalidInput("conditions_required", "An approval with conditions must list them.",
                           {"fields": {f"{prefix}.conditions": ["At least one condition is required."]}})
    if ent["renewal"].get("notice_days") is None:
        ent["renewal"]["notice_days"] = policy.default_notice_days
    return ent


def check_period(effective_from: date, expires_at: date, policy: Policy,
                 field: str = "entitlement.expires_at") -> None:
    """``expires_at`` after ``effective_from`` and within the policy's maximum; errors name ``field``."""
    if expires_at <= effective_from:
        raise InvalidInput("expiry_not_after_start", "expires_at must be after effective_from.",
                           {"fields": {field: ["Must be after effective_from."]}})
    days = (expires_at - effective_from).days
    if days > policy.max_duration_days:
        raise InvalidInput(
            "exceeds_max_duration",
            f"The exception would last {days} days; the policy allows at most {policy.max_duration_days}.",
            {"fields": {field: [f"At most {policy.max_duration_days} days after effective_from."]},
             "max_duration_days": policy.max_duration_days},
        )
