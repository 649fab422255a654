"""Policy simulation on a seeded history of 240 requests across tracks and bands: a draft that lowers the
fast-track revenue threshold moves exactly the requests a hand count says, and nothing else."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import yaml

from connector.governance.policy import default_policy, default_policy_text, parse_policy
from connector.governance.schema import load_fields
from connector.governance.simulation import Case, assess_case, simulate

CATEGORIES = ["seat_expansion", "term_extension", "feature_access", "deployment_scope", "usage_rights",
              "pricing_deviation", "geographic_scope", "other"]
SENSITIVITY = ["public", "internal", "confidential", "regulated"]
REVENUES = [0, 500, 5_000, 9_999, 10_000, 12_500, 18_000, 25_000, 25_001, 60_000, 150_000, 2_000_000]
FAST = {"seat_expansion", "term_extension", "feature_access", "deployment_scope"}


def history(count: int = 240, seed: int = 7) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for number in range(count):
        start = date(2026, 1, 1) + timedelta(days=rng.randrange(300))
        fields: dict[str, Any] = {
            "title": f"Request {number}", "category": rng.choice(CATEGORIES),
            "customer": {"name": f"Customer {number % 37}"}, "requester": {"email": "rep@vendor.example"},
            "baseline_terms": {"seats": 100}, "requested_terms": {"seats": 100 + rng.choice([5, 20, 80])},
            "use_case": "x", "revenue_impact": {"amount": str(rng.choice(REVENUES)), "currency": "USD"},
            "data_sensitivity": rng.choice(SENSITIVITY), "user_base": rng.choice([5, 500, 1000, 1001, 20_000]),
            "requested_start": start.isoformat(),
            "requested_end": (start + timedelta(days=rng.choice([30, 90, 120, 121, 400]))).isoformat(),
        }
        completed = datetime(2026, 6, 1, 9, tzinfo=UTC) + timedelta(hours=number)
        cases.append(Case(f"id{number}", f"LEX-{1001 + number}", "in_review", load_fields(fields), completed))
    return cases


def draft_with(**fast_track: Any):
    document = yaml.safe_load(default_policy_text())
    document["fast_track"].update(fast_track)
    return parse_policy(document, version=99)


def fast_by_hand(fields: dict[str, Any], threshold: int) -> bool:
    """The fast-track conditions, counted by hand from the policy text rather than through the triage code."""
    duration = (fields["requested_end"] - fields["requested_start"]).days
    return (fields["category"] in FAST and fields["revenue_impact"]["amount"] <= Decimal(threshold)
            and fields["user_base"] <= 1000 and fields["data_sensitivity"] in ("public", "internal")
            and duration <= 120)


def test_lowering_the_revenue_threshold_moves_exactly_the_requests_between_the_two_thresholds():
    cases = history()
    result = simulate(cases, default_policy(), draft_with(max_revenue_impact=10_000))
    expected = {c.key for c in cases if fast_by_hand(dict(c.fields), 25_000) and not fast_by_hand(dict(c.fields),
                                                                                                   10_000)}
    assert len(expected) >= 5  # the seeded history has such requests
    assert {d.case.key for d in result.differences} == expected
    assert result.totals.to_standard == len(expected) and result.totals.to_fast == 0
    assert result.totals.changed == len(expected) and result.totals.requests == 240
    for difference in result.differences:
        assert (difference.now.track, difference.draft.track) == ("fast", "standard")
        assert "track" in difference.changed and "due_at" in difference.changed
        assert difference.draft.due_at > difference.now.due_at  # the standard track has more time
        assert any("revenue impact above 10000" in reason for reason in difference.draft.reasons)


def test_the_same_policy_changes_nothing_and_counts_the_load():
    result = simulate(history(), default_policy(), default_policy())
    assert result.differences == [] and result.totals.changed == 0
    totals = result.totals.to_dict()
    assert totals["reviewer_load"]["licensing"] == {"now": 240, "draft": 240, "change": 0}
    assert sum(totals["bands"]["now"].values()) == 240 and len(totals["bands"]["now"]) >= 3


def test_raising_a_band_floor_moves_requests_down_a_band_and_lightens_the_load():
    document = yaml.safe_load(default_policy_text())
    document["risk"]["bands"]["medium"] = 2.0
    draft = parse_policy(document, version=99)
    cases = history()
    result = simulate(cases, default_policy(), draft)
    moved = [d for d in result.differences if d.now.band != d.draft.band]
    assert moved and all((d.now.band, d.draft.band) == ("medium", "low") for d in moved)
    assert all(1.25 <= d.now.score < 2.0 for d in moved)
    load = result.totals.to_dict()["reviewer_load"]
    standard_moved = sum(1 for d in moved if d.now.track == "standard")
    assert load["sales"]["change"] == -standard_moved


def test_overrides_and_completion_time_are_the_same_on_both_sides():
    [case] = history(1)
    pinned = Case(case.request_id, case.key, case.state, case.fields, case.completed_at,
                  {"legal": {"value": 5, "rationale": "novel licence terms", "by": "legal"}})
    assert assess_case(pinned, default_policy()).score > assess_case(case, default_policy()).score
    document = yaml.safe_load(default_policy_text())
    document["risk"]["weights"]["legal"] = 0.6
    [difference] = simulate([pinned], default_policy(), parse_policy(document, version=99)).differences
    assert difference.now.score == assess_case(pinned, default_policy()).score
    assert difference.draft.score > difference.now.score  # the override counts twice as much under the draft
    assert "score" in difference.changed and difference.now.due_at == difference.draft.due_at
    unfinished = Case("x", "LEX-1", "needs_info", case.fields, None)
    assert assess_case(unfinished, default_policy()).due_at is None
