"""Governance metrics and the transparency report (SPEC §2.4 "Metrics", "Transparency report")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connector.governance.metrics import (
    DecisionFacts,
    OutcomeFact,
    governance_metrics,
    period_key,
    transparency_summary,
)

NOW = datetime(2026, 12, 15, 12, tzinfo=UTC)


def fact(
    id: str,
    *,
    category: str = "seat_expansion",
    track: str | None = "fast",
    state: str = "approved",
    completed: datetime | None = datetime(2026, 11, 2, 9, tzinfo=UTC),
    hours: float | None = 10,
    outcome: str | None = "approved",
    due_in_hours: float | None = 48,
    disputes: int = 0,
    overdue: bool = False,
) -> DecisionFacts:
    decided = completed + timedelta(hours=hours) if completed and hours is not None else None
    return DecisionFacts(
        id=id,
        category=category,
        track=track,
        state=state,
        source="salesforce",
        created_at=(completed or NOW) - timedelta(hours=1),
        completed_at=completed,
        decided_at=decided,
        outcome=outcome if decided else None,
        due_at=completed + timedelta(hours=due_in_hours) if completed and due_in_hours is not None else None,
        disputes=disputes,
        overdue=overdue,
    )


DECEMBER = datetime(2026, 12, 1, 9, tzinfo=UTC)
FACTS = [
    fact("a", hours=10),
    fact("b", hours=20, outcome="approved_with_conditions", disputes=2),
    fact("c", hours=60, outcome="denied", category="pricing_deviation"),  # fast, late
    fact("d", track="standard", hours=100, due_in_hours=240, completed=DECEMBER),
    fact(
        "e", track="standard", hours=300, due_in_hours=240, completed=DECEMBER, outcome="denied", disputes=1
    ),
    fact("f", state="in_review", hours=None, due_in_hours=24, completed=DECEMBER),  # past due, flag stale
    fact("g", state="in_review", hours=None, due_in_hours=24 * 30, completed=DECEMBER, overdue=True),
    fact("h", state="needs_info", hours=None, due_in_hours=None, completed=None, track=None),
    fact("i", state="withdrawn", hours=None, due_in_hours=24, completed=DECEMBER),
]


def test_time_to_decide_overall_and_per_track() -> None:
    metrics = governance_metrics(FACTS, NOW)
    ttd = metrics["time_to_decide"]
    assert ttd["overall"] == {"count": 5, "mean_hours": 98.0, "median_hours": 60.0}
    assert ttd["by_track"]["fast"] == {"count": 3, "mean_hours": 30.0, "median_hours": 20.0}
    assert ttd["by_track"]["standard"] == {"count": 2, "mean_hours": 200.0, "median_hours": 200.0}


def test_sla_compliance_dispute_and_approval_rates() -> None:
    metrics = governance_metrics(FACTS, NOW)
    assert metrics["requests"] == 9
    assert metrics["decided"] == 5
    assert metrics["sla"] == {"decided": 5, "on_time": 3, "compliance": 0.6}
    assert metrics["dispute_rate"] == 0.4
    assert metrics["approval_rate"] == 0.6
    assert metrics["by_category"] == {
        "pricing_deviation": {"denied": 1},
        "seat_expansion": {"approved": 2, "approved_with_conditions": 1, "denied": 1},
    }


def test_backlog_and_overdue_count_only_open_requests() -> None:
    metrics = governance_metrics(FACTS, NOW)
    assert metrics["backlog"] == {"open": 3, "needs_info": 1, "in_review": 2}
    # f is past its due time (flag not yet set), g is flagged; the withdrawn i is not open.
    assert metrics["overdue"] == 2


def test_over_time_buckets_by_decision_period() -> None:
    monthly = governance_metrics(FACTS, NOW)["over_time"]
    assert monthly == [
        {
            "period": "2026-11",
            "decided": 3,
            "approved": 2,
            "denied": 1,
            "mean_hours": 30.0,
            "median_hours": 20.0,
        },
        {
            "period": "2026-12",
            "decided": 2,
            "approved": 1,
            "denied": 1,
            "mean_hours": 200.0,
            "median_hours": 200.0,
        },
    ]
    quarterly = governance_metrics(FACTS, NOW, period="quarter")["over_time"]
    assert [(row["period"], row["decided"]) for row in quarterly] == [("2026-Q4", 5)]
    weekly = governance_metrics(FACTS, NOW, period="week")["over_time"]
    assert [row["period"] for row in weekly] == ["2026-W45", "2026-W49", "2026-W50"]


def test_period_labels_and_unknown_period() -> None:
    moment = datetime(2027, 1, 1, 3, tzinfo=UTC)
    assert [period_key(moment, p) for p in ("week", "month", "quarter", "year")] == [
        "2026-W53",
        "2027-01",
        "2027-Q1",
        "2027",
    ]
    with pytest.raises(ValueError, match="period"):
        governance_metrics(FACTS, NOW, period="fortnight")


def test_no_decisions_gives_empty_figures_not_errors() -> None:
    metrics = governance_metrics([FACTS[-2]], NOW)
    assert metrics["time_to_decide"]["overall"] == {"count": 0, "mean_hours": None, "median_hours": None}
    assert metrics["sla"]["compliance"] is None
    assert metrics["dispute_rate"] is None
    assert metrics["approval_rate"] is None
    assert metrics["over_time"] == []
    json.dumps(metrics)


def test_transparency_summary_aggregates_without_ids_or_names() -> None:
    facts = [DecisionFacts(**{**f.__dict__, "id": f"Acme-Corp-{f.id}-3f9c2a"}) for f in FACTS]
    summary = transparency_summary(facts, NOW)
    assert summary["requests"] == 9
    assert summary["decided"] == 5
    assert summary["open"] == 3
    assert summary["by_outcome"] == {"approved": 2, "approved_with_conditions": 1, "denied": 2}
    assert summary["by_category"]["seat_expansion"] == {
        "requests": 8,
        "decided": 4,
        "approved": 2,
        "approved_with_conditions": 1,
        "denied": 1,
    }
    assert summary["approval_rate"] == 0.6
    assert summary["median_hours_to_decide"] == 60.0
    assert summary["sla_compliance"] == 0.6
    assert summary["dispute_rate"] == 0.4
    assert [(q["quarter"], q["decided"], q["approved"], q["denied"]) for q in summary["by_quarter"]] == [
        ("2026-Q4", 5, 3, 2)
    ]
    published = json.dumps(summary)
    assert "Acme" not in published
    assert "3f9c2a" not in published


def test_predefined_outcomes_count_standard_and_bespoke_decisions_per_category():
    decisions = [OutcomeFact("seat_expansion", False), OutcomeFact("seat_expansion", False),
                 OutcomeFact("seat_expansion", True), OutcomeFact("term_extension", True),
                 OutcomeFact("other", None), OutcomeFact("seat_expansion", None)]
    counted = governance_metrics(FACTS, NOW, outcomes=decisions)["predefined_outcomes"]
    assert (counted["standard"], counted["bespoke"], counted["without_standard"]) == (2, 2, 2)
    assert counted["bespoke_rate"] == 0.5
    assert counted["by_category"] == {
        "other": {"standard": 0, "bespoke": 0, "without_standard": 1, "bespoke_rate": None},
        "seat_expansion": {"standard": 2, "bespoke": 1, "without_standard": 1, "bespoke_rate": 0.3333},
        "term_extension": {"standard": 0, "bespoke": 1, "without_standard": 0, "bespoke_rate": 1.0},
    }
    empty = governance_metrics(FACTS, NOW)["predefined_outcomes"]
    assert empty == {"standard": 0, "bespoke": 0, "without_standard": 0, "bespoke_rate": None, "by_category": {}}
