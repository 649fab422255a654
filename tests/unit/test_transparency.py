"""The published aggregates: only groups of at least the minimum count, small categories pooled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.governance.metrics import DecisionFacts
from connector.transparency import POOLED, aggregates

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def fact(n: int, category: str, outcome: str | None, hours: float = 10) -> DecisionFacts:
    decided = T0 + timedelta(hours=hours) if outcome else None
    return DecisionFacts(id=n, category=category, track="fast", state="approved" if outcome else "in_review",
                         source="api", created_at=T0, completed_at=T0, decided_at=decided, outcome=outcome,
                         due_at=None)


def test_categories_below_the_minimum_are_pooled_and_a_small_pool_is_dropped():
    facts = [fact(n, "seat_expansion", "approved" if n % 5 else "denied", hours=n) for n in range(10)]
    facts += [fact(20 + n, "usage_rights", "approved") for n in range(3)]
    facts += [fact(30 + n, "term_extension", "denied") for n in range(2)]
    facts += [fact(40, "other", None)]
    out = aggregates(facts, 5)
    assert out["requests"] == 16 and out["overall"]["decided"] == 15
    assert out["overall"]["approval_rate"] == round(11 / 15, 4)
    assert out["by_category"]["seat_expansion"] == {"decided": 10, "approval_rate": 0.8,
                                                    "median_hours_to_decide": 4.5}
    assert out["by_category"][POOLED] == {"decided": 5, "approval_rate": 0.6, "median_hours_to_decide": 10.0}
    assert set(out["by_category"]) == {"seat_expansion", POOLED}
    small = aggregates(facts[:10] + facts[10:13], 5)
    assert set(small["by_category"]) == {"seat_expansion"}  # a pool of 3 is not published either


def test_nothing_is_published_below_the_minimum():
    out = aggregates([fact(n, "seat_expansion", "approved") for n in range(4)], 5)
    assert out["overall"] is None and out["requests"] is None and out["by_category"] == {}
