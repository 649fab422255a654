"""The issuance-pattern report counts what its conventions say, on facts built by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from connector.governance.issuance import (
    DisputeFacts,
    ExpiryFacts,
    IssuanceFacts,
    issuance_report,
    rule_values,
)

START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2027, 4, 1, tzinfo=UTC)


def fact(n: int, **kw) -> IssuanceFacts:
    base = {"id": f"id{n}", "key": f"LEX-{n}", "category": "seat_expansion", "segment": "SMB", "regions": (),
            "source": "api", "customer": None, "state": "approved", "created_at": START + timedelta(days=n)}
    return IssuanceFacts(**{**base, **kw})


def test_volume_rates_regions_and_the_period_boundaries():
    decided = START + timedelta(days=20)
    facts = [fact(1, decided_at=decided, last_decided_at=decided, outcome="approved", regions=("EMEA", "APAC")),
             fact(2, decided_at=decided, last_decided_at=decided, outcome="denied", state="denied",
                  regions=("EMEA",)),
             fact(3, state="in_review"),
             fact(4, created_at=END), fact(5, created_at=START - timedelta(seconds=1))]
    report = issuance_report(facts, [], [], START, END, 3)
    assert report["totals"]["requests"] == 3 and report["totals"]["approval_rate"] == 0.5
    regions = {r["value"]: (r["requests"], r["approved"]) for r in report["by_region"]}
    assert regions == {"EMEA": (2, 1), "APAC": (1, 1), "(none)": (1, 0)}


def test_candidates_repeat_customers_breaches_and_overrides():
    due = START + timedelta(days=5)
    late = due + timedelta(hours=1)
    facts = [fact(n, outcome="approved", decided_at=late, last_decided_at=late, due_at=due, customer="A",
                  granted={"features": ["SSO", "api"]} if n < 3 else {"features": ["api", "sso"]},
                  required_roles=("licensing", "legal"), voted_by_due=frozenset({"legal"}),
                  overrides={"legal": 1}, computed={"legal": 3}) for n in range(1, 4)]
    facts.append(fact(9, state="in_review", due_at=END - timedelta(days=1), required_roles=("licensing",),
                      overrides={"technical": 4}, computed={"technical": 2}))
    report = issuance_report(facts, [], [], START, END, 3)
    [candidate] = report["standard_term_candidates"]["items"]
    assert candidate["approvals"] == 3  # the same terms, whatever their order and case
    assert report["repeat_customers"][0]["requests"] == 3
    assert report["sla_breaches"]["requests"] == 4 and report["sla_breaches"]["by_role"] == {"licensing": 4}
    assert report["risk_overrides"]["most"] == "legal" and report["risk_overrides"]["direction"] == "down"


def test_disputes_and_expiries_in_the_period():
    disputes = [DisputeFacts("LEX-1", START + timedelta(days=1), "r", "approved", "denied"),
                DisputeFacts("LEX-2", START + timedelta(days=2), "r", "denied", "denied"),
                DisputeFacts("LEX-3", START + timedelta(days=3), "r", "approved", None),
                DisputeFacts("LEX-4", END, "r", "approved", None)]
    expiries = [ExpiryFacts("LEX-5", "other", None, date(2027, 3, 31)), ExpiryFacts("LEX-6", "other", None,
                                                                                    date(2027, 4, 1))]
    report = issuance_report([], disputes, expiries, START, END, 3)
    assert {k: report["disputes"][k] for k in ("total", "upheld", "overturned", "pending")} == {
        "total": 3, "upheld": 1, "overturned": 1, "pending": 1}
    assert [i["key"] for i in report["expired_unrenewed"]["items"]] == ["LEX-5"]


def test_rule_values_sum_points_capped_and_ignore_overrides():
    explanation = [{"dimension": "legal", "points": 3}, {"dimension": "legal", "points": 3},
                   {"dimension": "technical", "points": 1}, {"dimension": "technical", "points": None}]
    assert rule_values(explanation) == {"legal": 5, "technical": 1}
