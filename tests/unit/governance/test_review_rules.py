"""Decision rules and communications as pure functions."""

from __future__ import annotations

from datetime import date

import pytest

from connector.governance.communications import communications
from connector.governance.errors import InvalidInput, NotPermitted, StateConflict
from connector.governance.policy import default_policy
from connector.governance.review import CastVote, check_decision, missing_approvals, validate_entitlement

POLICY = default_policy()
TODAY = date(2026, 11, 28)


def test_latest_vote_per_role_counts():
    votes = [CastVote("legal", "approve", "a"), CastVote("legal", "reject", "a", "no"),
             CastVote("sales", "approve", "b")]
    assert missing_approvals(["legal", "sales", "product"], votes) == [
        {"role": "legal", "latest_vote": "reject"}, {"role": "product", "latest_vote": None}]


def test_decision_checks():
    args = {"state": "in_review", "track": "standard", "band": "medium", "outcome": "approved", "policy": POLICY}
    with pytest.raises(NotPermitted):
        check_decision(holder_roles=["sales"], votes=[], **args)
    with pytest.raises(StateConflict) as exc:
        check_decision(holder_roles=["licensing"], votes=[CastVote("licensing", "approve", "c")], **args)
    assert exc.value.details["missing_roles"] == ["sales"]
    check_decision(holder_roles=["licensing"], votes=[], **{**args, "outcome": "denied"})
    check_decision(holder_roles=["licensing"], votes=[], **{**args, "track": "fast"})


def test_entitlement_rules():
    ent = validate_entitlement({"grants": {"seats": 10}, "expires_at": "2027-01-31"}, POLICY, TODAY)
    assert ent["effective_from"] == TODAY and ent["renewal"] == {"mode": "manual", "notice_days": 30}
    with pytest.raises(InvalidInput) as exc:
        validate_entitlement({"grants": {"seats": 10}, "expires_at": "2026-11-01"}, POLICY, TODAY)
    assert exc.value.code == "expiry_not_after_start"
    with pytest.raises(InvalidInput) as exc:
        validate_entitlement({"grants": {}, "expires_at": "2027-01-31"}, POLICY, TODAY)
    assert exc.value.code == "grants_required"
    with pytest.raises(InvalidInput) as exc:
        validate_entitlement({"grants": {"seats": "x"}, "expires_at": "2027-01-31", "renewal": {"mode": "forever"}},
                             POLICY, TODAY)
    assert set(exc.value.details["fields"]) == {"entitlement.grants.seats", "entitlement.renewal.mode"}


def test_communications_render_from_templates():
    request = {"key": "LEX-1001", "title": "More seats", "track": "fast", "customer": {"name": "Acme"},
               "risk": {"band": "low", "score": 0.0, "explanation": []}}
    decision = {"outcome": "approved", "rationale": "Pilot", "decided_by": "chair"}
    ent = {"version": 1, "grants": {"seats": 105, "regions": ["EMEA", "APAC"]}, "effective_from": "2026-12-01",
           "expires_at": "2027-05-31", "conditions": ["report usage"], "renewal": {"mode": "manual", "notice_days": 30},
           "success_metrics": ["20 paid seats"]}
    summary, note = communications(POLICY, request, decision, ent)
    assert "2027-05-31" in summary and "regions: EMEA, APAC" in summary and "20 paid seats" in summary
    assert "amendment" in summary
    assert "LEX-1001 APPROVED by chair" in note and "renewal manual" in note
