"""Governance metrics and the publishable transparency report (SPEC §2.4 "Metrics", "Transparency report").

Both work on :class:`DecisionFacts`, a flat projection of each request the store builds, so the figures are
computed the same way for the API, the UI and Prometheus, without touching the database here.

Conventions: time to decide is wall-clock hours from ``completed_at`` to the first decision; a request is
*decided* once it has a first decision (``decided_at``); in per-period buckets ``approved`` counts both
``approved`` and ``approved_with_conditions``; rates are 0..1 rounded to 4 places and ``None`` when there is
nothing to divide by.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.governance.states import OPEN_STATES

APPROVING_OUTCOMES = frozenset({"approved", "approved_with_conditions"})
OUTCOMES = ("approved", "approved_with_conditions", "denied")
TRACKS = ("fast", "standard")
PERIODS = ("week", "month", "quarter", "year")


@dataclass(frozen=True)
class DecisionFacts:
    """What the metrics need to know about one request; no customer data on purpose."""

    id: Any
    category: str
    track: str | None
    state: str
    source: str
    created_at: datetime
    completed_at: datetime | None
    decided_at: datetime | None
    outcome: str | None
    due_at: datetime | None
    disputes: int = 0
    overdue: bool = False


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment


def _hours_to_decide(fact: DecisionFacts) -> float | None:
    if fact.decided_at is None or fact.completed_at is None:
        return None
    return (_utc(fact.decided_at) - _utc(fact.completed_at)).total_seconds() / 3600


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(values: list[float], how: str) -> float | None:
    if not values:
        return None
    value = statistics.fmean(values) if how == "mean" else statistics.median(values)
    return round(value, 2)


def _duration_stats(values: list[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "mean_hours": _hours(values, "mean"),
        "median_hours": _hours(values, "median"),
    }


def period_key(moment: datetime, period: str) -> str:
    """The bucket label of a moment: ``2026-W47``, ``2026-11``, ``2026-Q4`` or ``2026``."""
    moment = _utc(moment)
    if period == "week":
        iso = moment.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    if period == "month":
        return f"{moment.year:04d}-{moment.month:02d}"
    if period == "quarter":
        return f"{moment.year:04d}-Q{(moment.month - 1) // 3 + 1}"
    if period == "year":
        return f"{moment.year:04d}"
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")


@dataclass(frozen=True)
class OutcomeFact:
    """One recorded decision against its category's predefined outcome: ``bespoke`` False (standard), True
    (bespoke) or None (no standard to compare with: a denial, a category without one, a renewal)."""

    category: str
    bespoke: bool | None


def outcome_consistency(facts: Iterable[OutcomeFact]) -> dict[str, Any]:
    """How many decisions kept to their category's predefined outcome and how many were bespoke, per category;
    ``bespoke_rate`` is over the decisions that had a standard to keep to."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for fact in facts:
        kind = "without_standard" if fact.bespoke is None else "bespoke" if fact.bespoke else "standard"
        counts[fact.category][kind] += 1

    def row(counter: Counter[str]) -> dict[str, Any]:
        standard, bespoke = counter["standard"], counter["bespoke"]
        return {"standard": standard, "bespoke": bespoke, "without_standard": counter["without_standard"],
                "bespoke_rate": _rate(bespoke, standard + bespoke)}

    overall: Counter[str] = Counter()
    for counter in counts.values():
        overall.update(counter)
    return {**row(overall), "by_category": {c: row(counts[c]) for c in sorted(counts)}}


def _is_overdue(fact: DecisionFacts, now: datetime) -> bool:
    """Open and past due: the stored flag, or an undecided request whose due time passed since it was set."""
    if fact.state not in OPEN_STATES:
        return False
    if fact.overdue:
        return True
    return fact.decided_at is None and fact.due_at is not None and _utc(now) > _utc(fact.due_at)


def _decided(facts: list[DecisionFacts]) -> list[DecisionFacts]:
    return [f for f in facts if f.decided_at is not None]


def _approval_rate(decided: list[DecisionFacts]) -> float | None:
    with_outcome = [f for f in decided if f.outcome]
    return _rate(sum(f.outcome in APPROVING_OUTCOMES for f in with_outcome), len(with_outcome))


def _dispute_rate(decided: list[DecisionFacts]) -> float | None:
    return _rate(sum(f.disputes > 0 for f in decided), len(decided))


def _sla(decided: list[DecisionFacts]) -> dict[str, Any]:
    timed = [(f.decided_at, f.due_at) for f in decided if f.decided_at is not None and f.due_at is not None]
    on_time = sum(_utc(decided_at) <= _utc(due) for decided_at, due in timed)
    return {"decided": len(timed), "on_time": on_time, "compliance": _rate(on_time, len(timed))}


def _buckets(decided: list[DecisionFacts], period: str, label: str) -> list[dict[str, Any]]:
    grouped: dict[str, list[DecisionFacts]] = defaultdict(list)
    for fact in decided:
        if fact.decided_at is not None:
            grouped[period_key(fact.decided_at, period)].append(fact)
    rows = []
    for key in sorted(grouped):
        group = grouped[key]
        hours = [h for f in group if (h := _hours_to_decide(f)) is not None]
        rows.append(
            {
                label: key,
                "decided": len(group),
                "approved": sum(f.outcome in APPROVING_OUTCOMES for f in group),
                "denied": sum(f.outcome == "denied" for f in group),
                "mean_hours": _hours(hours, "mean"),
                "median_hours": _hours(hours, "median"),
            }
        )
    return rows


def governance_metrics(
    facts: Iterable[DecisionFacts], now: datetime, period: str = "month",
    outcomes: Iterable[OutcomeFact] = (),
) -> dict[str, Any]:
    """The figures behind ``GET /api/v1/metrics/governance``, as a JSON-ready dict (``outcomes``: the recorded
    decisions, for standard against bespoke)."""
    period_key(now, period)
    facts = list(facts)
    decided = _decided(facts)
    durations: dict[str | None, list[float]] = defaultdict(list)
    for fact in decided:
        hours = _hours_to_decide(fact)
        if hours is not None:
            durations[fact.track].append(hours)
    tracks = sorted(set(TRACKS) | {t for t in durations if t is not None})
    by_category: dict[str, Counter[str]] = defaultdict(Counter)
    for fact in decided:
        if fact.outcome:
            by_category[fact.category][fact.outcome] += 1
    states = Counter(f.state for f in facts)
    return {
        "generated_at": _utc(now).isoformat(),
        "period": period,
        "requests": len(facts),
        "decided": len(decided),
        "time_to_decide": {
            "overall": _duration_stats([h for values in durations.values() for h in values]),
            "by_track": {track: _duration_stats(durations.get(track, [])) for track in tracks},
        },
        "sla": _sla(decided),
        "dispute_rate": _dispute_rate(decided),
        "approval_rate": _approval_rate(decided),
        "by_category": {c: dict(sorted(by_category[c].items())) for c in sorted(by_category)},
        "over_time": _buckets(decided, period, "period"),
        "backlog": {
            "open": sum(states[s] for s in OPEN_STATES),
            "needs_info": states["needs_info"],
            "in_review": states["in_review"],
        },
        "overdue": sum(_is_overdue(f, now) for f in facts),
        "predefined_outcomes": outcome_consistency(outcomes),
    }


def transparency_summary(facts: Iterable[DecisionFacts], now: datetime) -> dict[str, Any]:
    """Aggregated figures safe to publish (``GET /api/v1/reports/summary``): counts and rates, no ids."""
    facts = list(facts)
    decided = _decided(facts)
    by_category: dict[str, dict[str, int]] = {}
    for fact in facts:
        row = by_category.setdefault(
            fact.category, {"requests": 0, "decided": 0, **dict.fromkeys(OUTCOMES, 0)}
        )
        row["requests"] += 1
        if fact.decided_at is not None:
            row["decided"] += 1
            if fact.outcome in row:
                row[fact.outcome] += 1
    by_outcome = Counter(f.outcome for f in decided if f.outcome)
    hours = [h for f in decided if (h := _hours_to_decide(f)) is not None]
    return {
        "generated_at": _utc(now).isoformat(),
        "requests": len(facts),
        "decided": len(decided),
        "open": sum(f.state in OPEN_STATES for f in facts),
        "by_category": {c: by_category[c] for c in sorted(by_category)},
        "by_outcome": {o: by_outcome.get(o, 0) for o in OUTCOMES},
        "approval_rate": _approval_rate(decided),
        "median_hours_to_decide": _hours(hours, "median"),
        "sla_compliance": _sla(decided)["compliance"],
        "dispute_rate": _dispute_rate(decided),
        "by_quarter": _buckets(decided, "quarter", "quarter"),
    }
