"""Precedents: decided requests most like the one under review (SPEC §2.4 "Precedents")."""

from __future__ import annotations

import math
import time
from decimal import Decimal
from typing import Any

from connector.governance.precedents import Precedent, rank_precedents


def request(
    id: str,
    *,
    category: str = "seat_expansion",
    terms: dict[str, Any] | None = None,
    amount: Any = "20000",
    currency: str = "USD",
    segment: str | None = "enterprise",
    user_base: int | None = 400,
    outcome: str | None = "approved",
    decided_at: str = "2026-10-01T12:00:00+00:00",
) -> dict[str, Any]:
    """A request in the public API shape (SPEC §7.4)."""
    return {
        "id": id,
        "key": f"LEX-{id}",
        "title": f"Request {id}",
        "category": category,
        "customer": {"name": f"Customer {id}", "segment": segment},
        "requested_terms": terms if terms is not None else {"seats": 500, "term_end": "2027-06-30"},
        "revenue_impact": {"amount": amount, "currency": currency},
        "user_base": user_base,
        "state": "approved" if outcome and outcome != "denied" else ("denied" if outcome else "in_review"),
        "decision": None
        if outcome is None
        else {"outcome": outcome, "rationale": f"Rationale {id}", "decided_at": decided_at},
    }


TARGET = request("target", outcome=None, terms={"seats": 500, "term_end": "2027-06-30", "regions": ["eu"]})


def test_the_most_similar_comes_first_with_its_reasons() -> None:
    twin = request("twin", terms={"seats": 480, "term_end": "2027-03-31", "regions": ["us"]}, amount=21000)
    cousin = request("cousin", terms={"seats": 450}, amount="19000.00", segment="smb")
    stranger = request(
        "stranger", category="pricing_deviation", terms={"price": "9.5"}, amount=900000, user_base=90000
    )
    [first, second, third] = rank_precedents(TARGET, [stranger, cousin, twin])

    assert [p.id for p in (first, second, third)] == ["twin", "cousin", "stranger"]
    revenue = 1 - math.log10(21001 / 20001) / 2
    seats = 1 - math.log10(501 / 481) / 2
    assert first.score == round(0.4 + 0.3 + 0.1 * revenue + 0.1 * seats + 0.1, 3)
    assert first.reasons == [
        "same category",
        "3 of 3 term keys shared",
        "revenue within 2x",
        "seats within 2x",
        "same segment",
    ]
    assert second.reasons == [
        "same category",
        "1 of 3 term keys shared",
        "revenue within 2x",
        "seats within 2x",
    ]
    assert third.reasons == ["same segment"]
    assert first.score > second.score > third.score > 0
    assert first == Precedent(
        id="twin",
        key="LEX-twin",
        category="seat_expansion",
        outcome="approved",
        rationale="Rationale twin",
        decided_at=first.decided_at,
        score=first.score,
        reasons=first.reasons,
    )
    assert first.to_dict()["decided_at"] == "2026-10-01T12:00:00+00:00"


def test_an_exact_match_beats_partial_matches() -> None:
    exact = request("exact", terms=dict(TARGET["requested_terms"]))
    other_category = request("cat", category="term_extension", terms=dict(TARGET["requested_terms"]))
    other_segment = request("seg", terms=dict(TARGET["requested_terms"]), segment="smb")
    other_terms = request("terms", terms={"features": ["sso"]})
    ranked = rank_precedents(TARGET, [other_terms, other_segment, other_category, exact])
    assert [(p.id, p.score) for p in ranked] == [("exact", 1.0), ("seg", 0.9), ("terms", 0.7), ("cat", 0.6)]


def test_undecided_requests_and_the_target_itself_are_not_precedents() -> None:
    undecided = request("open", outcome=None)
    itself = dict(TARGET, decision={"outcome": "denied", "rationale": "x", "decided_at": "2026-01-01"})
    decided = request("done", outcome="denied")
    ranked = rank_precedents(TARGET, [undecided, itself, decided])
    assert [(p.id, p.outcome, p.rationale) for p in ranked] == [("done", "denied", "Rationale done")]


def test_ties_go_to_the_most_recent_decision_and_limit_applies() -> None:
    older = request("older", decided_at="2026-03-01T00:00:00Z")
    newer = request("newer", decided_at="2026-09-01T00:00:00+00:00")
    undated = request("undated", decided_at="")
    ranked = rank_precedents(TARGET, [older, undated, newer])
    assert [p.id for p in ranked] == ["newer", "older", "undated"]
    assert ranked[0].score == ranked[1].score == ranked[2].score
    assert [p.id for p in rank_precedents(TARGET, [older, undated, newer], limit=1)] == ["newer"]
    assert rank_precedents(TARGET, [older], limit=0) == []


def test_candidates_with_nothing_in_common_are_left_out() -> None:
    unrelated = request(
        "unrelated", category="other", terms={"other": "x"}, amount=None, segment=None, user_base=None
    )
    assert rank_precedents(TARGET, [unrelated]) == []


def test_revenue_in_other_currencies_needs_fx_rates() -> None:
    euros = request("eur", category="other", terms={"other": "x"}, amount=Decimal("18500"), currency="EUR")
    euros["user_base"] = None
    [unconverted] = rank_precedents(TARGET, [euros])
    assert unconverted.reasons == ["same segment"]
    [converted] = rank_precedents(TARGET, [euros], fx_rates={"USD": 1, "EUR": 1.08})
    assert "revenue within 2x" in converted.reasons


def test_size_falls_back_to_user_base_and_far_magnitudes_get_no_reason() -> None:
    target = request("t", terms={"regions": ["eu"]}, user_base=1000, outcome=None)
    near = request("near", terms={"regions": ["apac"]}, user_base=5000, amount=20000)
    far = request("far", terms={"regions": ["apac"]}, user_base=900000, amount=20000)
    ranked = {p.id: p for p in rank_precedents(target, [near, far])}
    assert "user base within 10x" in ranked["near"].reasons
    assert not any("user base" in r for r in ranked["far"].reasons)
    assert ranked["near"].score > ranked["far"].score


def test_ten_thousand_candidates_rank_quickly() -> None:
    categories = ["seat_expansion", "term_extension", "feature_access", "pricing_deviation"]
    segments = ["enterprise", "smb", "public_sector"]
    candidates = [
        request(
            str(i),
            category=categories[i % 4],
            terms={"seats": 100 + i % 900, "term_end": "2027-01-01"} if i % 2 else {"features": ["sso"]},
            amount=str(1000 + (i * 37) % 500000),
            segment=segments[i % 3],
            user_base=i % 5000,
            outcome="denied" if i % 5 == 0 else "approved",
            decided_at=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00+00:00",
        )
        for i in range(10_000)
    ]
    started = time.perf_counter()
    ranked = rank_precedents(TARGET, candidates)
    elapsed = time.perf_counter() - started
    assert len(ranked) == 5
    assert all(p.category == "seat_expansion" for p in ranked)
    assert [p.score for p in ranked] == sorted((p.score for p in ranked), reverse=True)
    assert elapsed < 10.0, f"ranking 10,000 candidates took {elapsed:.2f}s"
