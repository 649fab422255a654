"""Predefined outcomes: the decision form's starting point, and when a decision departs from the standard."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from connector.governance.errors import InvalidInput
from connector.governance.outcomes import judge, prefill
from connector.governance.policy import default_policy, default_policy_text, parse_policy
from connector.governance.schema import load_fields

TODAY = date(2026, 12, 3)


def request(**overrides):
    body = {"title": "t", "category": "seat_expansion", "baseline_terms": {"seats": 100, "term_end": "2027-06-30"},
            "requested_terms": {"seats": 140, "environments": ["Production", "Staging"]},
            "requested_start": "2026-12-10", "requested_end": "2027-06-30", **overrides}
    return load_fields(body)


def test_the_form_starts_from_the_requested_terms_within_the_standard_bounds():
    outcome = default_policy().outcome("seat_expansion")
    start = prefill(outcome, request(), TODAY)
    assert start["grants"]["seats"] == 120  # +20% over the 100 licensed, not the 140 asked
    assert start["effective_from"] == date(2026, 12, 10)
    assert start["expires_at"] == date(2027, 3, 10)  # 90 days, not the half year asked
    assert start["conditions"] == ["Seat usage is reported monthly"]
    assert start["success_metrics"] == ["Seats in use at the end of the period"]
    feature = prefill(default_policy().outcome("feature_access"), request(category="feature_access"), TODAY)
    assert feature["grants"]["environments"] == ["Staging"]  # production is outside the standard trial


def test_the_predefined_outcome_itself_is_standard():
    outcome = default_policy().outcome("seat_expansion")
    entitlement = prefill(outcome, request(), TODAY)
    assert judge(outcome, request(), entitlement, "approved_with_conditions").to_dict() == {
        "standard": True, "bespoke": False, "departures": []}


def test_a_decision_beyond_the_bounds_is_bespoke_and_says_how():
    outcome = default_policy().outcome("seat_expansion")
    entitlement = {**prefill(outcome, request(), TODAY), "conditions": []}
    entitlement["grants"] = {**entitlement["grants"], "seats": 140}
    entitlement["expires_at"] = date(2027, 6, 30)
    verdict = judge(outcome, request(), entitlement, "approved")
    assert verdict.bespoke and verdict.departures == (
        "grants 140 seats; the standard outcome allows at most 120 (baseline 100)",
        "lasts 202 days; the standard outcome lasts at most 90",
        "drops the standard condition 'Seat usage is reported monthly'",
    )


def test_term_extension_and_allowed_lists_are_bounded_too():
    outcome = default_policy().outcome("term_extension")
    fields = request(category="term_extension", requested_terms={"term_end": "2028-06-30"})
    assert prefill(outcome, fields, TODAY)["grants"]["term_end"] == date(2027, 12, 30)  # 183 days past 2027-06-30
    entitlement = {"grants": {"term_end": "2028-06-30"}, "effective_from": TODAY, "expires_at": date(2027, 6, 1),
                   "conditions": ["Renewal negotiation starts before the extension ends"]}
    assert judge(outcome, fields, entitlement, "approved").departures == (
        "extends the term by 366 days; the standard outcome extends it by at most 183",)
    trial = default_policy().outcome("feature_access")
    grants = {"grants": {"environments": ["Production"]}, "effective_from": TODAY, "expires_at": date(2027, 1, 2),
              "conditions": ["No production use of the trial features"]}
    assert judge(trial, request(category="feature_access"), grants, "approved").departures == (
        "grants environments Production beyond the standard Staging, Development",)


def test_a_denial_or_a_category_without_an_outcome_is_neither():
    assert judge(None, request(category="other"), {"grants": {"seats": 1}}, "approved").standard is None
    outcome = default_policy().outcome("seat_expansion")
    assert judge(outcome, request(), None, "denied").to_dict()["bespoke"] is False


def test_outcomes_must_name_policy_categories_and_valid_bounds():
    document = yaml.safe_load(default_policy_text())
    document["outcomes"]["teleportation"] = {"max_duration_days": 10}
    document["outcomes"]["seat_expansion"]["max_seat_increase_ratio"] = -1
    with pytest.raises(InvalidInput) as caught:
        parse_policy(document)
    fields = caught.value.details["fields"]
    assert any(key.startswith("outcomes") for key in fields), fields


def test_a_fast_track_grant_the_policy_reserves_for_the_committee_departs():
    document = yaml.safe_load(default_policy_text())
    document["outcomes"]["seat_expansion"]["fast_track_may_grant"] = False
    outcome = parse_policy(document).outcome("seat_expansion")
    entitlement = prefill(outcome, request(), TODAY)
    assert judge(outcome, request(), entitlement, "approved", "standard").standard is True
    assert judge(outcome, request(), entitlement, "approved", "fast").departures == (
        "granted on the fast track, which the policy does not let grant this category's outcome",)
    assert judge(default_policy().outcome("seat_expansion"), request(), entitlement, "approved", "fast").standard
