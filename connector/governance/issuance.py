"""The issuance-pattern report a periodic policy review opens with: what was asked for and granted over the
period, and where the policy and the committee disagree with each other or with the customers.

Pure: the store projects each request into :class:`IssuanceFacts` (and each dispute and ended exception into
their own facts), so a hand count on seeded data can check every figure. Conventions, so the figures can be
counted by hand:

- the *population* is the requests created in ``[start, end)``; volume and approval rate are over it (decided:
  has a first decision; approved: its current outcome is an approval; the rate is approved / decided);
- a request asking for several regions counts once for each, one asking for none under ``(none)``;
- a customer has *repeated* exceptions when at least two requests of the population name it (account id, else
  name);
- a *standard-term candidate* is a category and the exact terms first granted, approved at least ``min_approvals``
  times in the population;
- a dispute counts when it was raised in the period; its result is ``upheld`` (the next decision approves or
  denies as the one before did), ``overturned``, or ``pending`` (no decision since);
- an SLA breach is a request of the population decided after its due time, or still undecided with its due time
  before ``end``; each required role that had not voted by the due time is counted against;
- an override is a reviewer's value for a risk dimension against what the rules gave it (``up``, ``down``,
  ``same``);
- an exception expired unrenewed when its last version ended as ``expired`` on a day of the period.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

APPROVALS = frozenset({"approved", "approved_with_conditions"})
OPEN = frozenset({"needs_info", "in_review"})
NO_REGION = "(none)"
UNKNOWN = "(unknown)"


@dataclass(frozen=True)
class IssuanceFacts:
    """What the report needs to know about one request."""

    id: str
    key: str | None
    category: str
    segment: str
    regions: tuple[str, ...]
    source: str
    customer: str | None
    state: str
    created_at: datetime
    decided_at: datetime | None = None  # the first decision
    last_decided_at: datetime | None = None
    outcome: str | None = None
    due_at: datetime | None = None
    granted: Mapping[str, Any] | None = None  # the terms first granted
    required_roles: tuple[str, ...] = ()
    voted_by_due: frozenset[str] = frozenset()  # roles with a vote cast by the due time
    overrides: Mapping[str, int] = field(default_factory=dict)  # dimension -> the reviewer's value
    computed: Mapping[str, int] = field(default_factory=dict)  # dimension -> what the rules gave


@dataclass(frozen=True)
class DisputeFacts:
    key: str | None
    raised_at: datetime
    reason: str
    before: str | None  # the outcome disputed
    after: str | None  # the next decision's outcome, None while pending


@dataclass(frozen=True)
class ExpiryFacts:
    key: str | None
    category: str
    customer: str | None
    expires_at: date


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _row(value: str, group: list[IssuanceFacts]) -> dict[str, Any]:
    decided = [f for f in group if f.decided_at is not None and f.outcome]
    approved = sum(f.outcome in APPROVALS for f in decided)
    return {"value": value, "requests": len(group), "decided": len(decided), "approved": approved,
            "approval_rate": _rate(approved, len(decided))}


def _by(facts: list[IssuanceFacts], values: Callable[[IssuanceFacts], Iterable[str]]) -> list[dict[str, Any]]:
    groups: dict[str, list[IssuanceFacts]] = defaultdict(list)
    for fact in facts:
        for value in values(fact):
            groups[value].append(fact)
    rows = [_row(value, group) for value, group in groups.items()]
    return sorted(rows, key=lambda r: (-r["requests"], r["value"]))


def _repeat_customers(facts: list[IssuanceFacts]) -> list[dict[str, Any]]:
    groups: dict[str, list[IssuanceFacts]] = defaultdict(list)
    for fact in facts:
        if fact.customer:
            groups[fact.customer].append(fact)
    rows = [{"customer": name, "requests": len(group), "approved": sum(f.outcome in APPROVALS for f in group),
             "keys": sorted(str(f.key or f.id) for f in group)} for name, group in groups.items() if len(group) >= 2]
    return sorted(rows, key=lambda r: (-r["requests"], r["customer"]))


def _terms_key(terms: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    def canon(value: Any) -> str:
        if isinstance(value, list):
            return ",".join(sorted(str(v).strip().lower() for v in value))
        return str(value).strip().lower()
    return tuple(sorted((str(k), canon(v)) for k, v in terms.items()))


def _candidates(facts: list[IssuanceFacts], min_approvals: int) -> list[dict[str, Any]]:
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[IssuanceFacts]] = defaultdict(list)
    for fact in facts:
        if fact.outcome in APPROVALS and fact.granted:
            groups[(fact.category, _terms_key(fact.granted))].append(fact)
    rows = [{"category": category, "grants": dict(group[0].granted or {}), "approvals": len(group),
             "keys": sorted(str(f.key or f.id) for f in group)}
            for (category, _), group in groups.items() if len(group) >= min_approvals]
    return sorted(rows, key=lambda r: (-r["approvals"], r["category"]))


def _dispute_result(item: DisputeFacts) -> str:
    if item.after is None:
        return "pending"
    return "upheld" if (item.after in APPROVALS) == (item.before in APPROVALS) else "overturned"


def _disputes(disputes: Iterable[DisputeFacts], start: datetime, end: datetime) -> dict[str, Any]:
    items = [{"key": d.key, "raised_at": _utc(d.raised_at).isoformat(), "reason": d.reason, "before": d.before,
              "after": d.after, "result": _dispute_result(d)}
             for d in sorted(disputes, key=lambda d: _utc(d.raised_at)) if start <= _utc(d.raised_at) < end]
    results = Counter(i["result"] for i in items)
    return {"total": len(items), **{r: results.get(r, 0) for r in ("upheld", "overturned", "pending")},
            "items": items}


def _breached(fact: IssuanceFacts, end: datetime) -> bool:
    if fact.due_at is None:
        return False
    due = _utc(fact.due_at)
    if fact.last_decided_at is not None and fact.state not in OPEN:
        return _utc(fact.last_decided_at) > due
    return fact.state in OPEN and due < end


def _sla_breaches(facts: list[IssuanceFacts], end: datetime) -> dict[str, Any]:
    by_role: Counter[str] = Counter()
    items = []
    for fact in facts:
        if not _breached(fact, end):
            continue
        late = [role for role in fact.required_roles if role not in fact.voted_by_due]
        by_role.update(late)
        items.append({"key": fact.key, "due_at": _utc(fact.due_at).isoformat() if fact.due_at else None,
                      "decided_at": _utc(fact.last_decided_at).isoformat() if fact.last_decided_at else None,
                      "late_roles": late})
    return {"requests": len(items), "by_role": dict(sorted(by_role.items(), key=lambda kv: (-kv[1], kv[0]))),
            "items": items}


def _overrides(facts: list[IssuanceFacts]) -> dict[str, Any]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for fact in facts:
        for dimension, value in fact.overrides.items():
            computed = fact.computed.get(dimension, 0)
            counts[dimension]["up" if value > computed else "down" if value < computed else "same"] += 1
    rows: list[dict[str, Any]] = [{"dimension": d, "overrides": sum(c.values()), "up": c["up"],
                                   "down": c["down"], "same": c["same"]} for d, c in counts.items()]
    rows.sort(key=lambda r: (-r["overrides"], r["dimension"]))
    most = rows[0] if rows else None
    direction = None
    if most is not None:
        direction = "up" if most["up"] > most["down"] else "down" if most["down"] > most["up"] else "mixed"
    return {"by_dimension": rows, "most": most["dimension"] if most else None, "direction": direction}


def _expired(expiries: Iterable[ExpiryFacts], start: datetime, end: datetime) -> dict[str, Any]:
    first, last = _utc(start).date(), _utc(end).date()
    items = [{"key": e.key, "category": e.category, "customer": e.customer, "expires_at": e.expires_at.isoformat()}
             for e in sorted(expiries, key=lambda e: e.expires_at) if first <= e.expires_at < last]
    return {"total": len(items), "items": items}


def issuance_report(facts: Iterable[IssuanceFacts], disputes: Iterable[DisputeFacts],
                    expiries: Iterable[ExpiryFacts], start: datetime, end: datetime,
                    min_approvals: int) -> dict[str, Any]:
    """Every figure of a periodic review over ``[start, end)``, as a JSON-ready dict."""
    start, end = _utc(start), _utc(end)
    population = [f for f in facts if start <= _utc(f.created_at) < end]
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "totals": _row("all", population),
        "by_category": _by(population, lambda f: [f.category]),
        "by_segment": _by(population, lambda f: [f.segment]),
        "by_region": _by(population, lambda f: sorted(set(f.regions)) or [NO_REGION]),
        "by_source": _by(population, lambda f: [f.source]),
        "repeat_customers": _repeat_customers(population),
        "standard_term_candidates": {"min_approvals": min_approvals,
                                     "items": _candidates(population, min_approvals)},
        "disputes": _disputes(disputes, start, end),
        "sla_breaches": _sla_breaches(population, end),
        "risk_overrides": _overrides(population),
        "expired_unrenewed": _expired(expiries, start, end),
    }


def rule_values(explanation: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """What the rules gave each dimension (capped 0..5), from a risk explanation: overrides have no points."""
    sums: Counter[str] = Counter()
    for line in explanation:
        if line.get("points") is not None:
            sums[str(line["dimension"])] += int(line["points"])
    return {d: max(0, min(5, v)) for d, v in sums.items()}


__all__ = ["DisputeFacts", "ExpiryFacts", "IssuanceFacts", "issuance_report", "rule_values"]
