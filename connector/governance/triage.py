"""Triage and risk (SPEC §2.3): the track, and a four-dimension risk score with every point explained."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connector.governance.paths import get_path
from connector.governance.policy import DERIVED_FIELDS, DIMENSIONS, Policy


def derived_values(fields: Mapping[str, Any], policy: Policy) -> dict[str, Any]:
    """Values the policy's rules may test beyond the raw fields (see the policy's comments)."""
    base: Mapping[str, Any] = fields.get("baseline_terms") or {}
    want: Mapping[str, Any] = fields.get("requested_terms") or {}
    revenue = fields.get("revenue_impact") or {}
    start, end = fields.get("requested_start"), fields.get("requested_end")
    out: dict[str, Any] = {
        "revenue_base": policy.to_base_currency(revenue.get("amount"), revenue.get("currency")),
        "duration_days": (end - start).days if start and end else None,
        "requested_keys": sorted(k for k, v in want.items() if v not in (None, [], "")),
        **_seat_increase(base.get("seats"), want.get("seats")),
    }
    for key in ("regions", "environments", "features"):
        licensed = {str(v).lower() for v in base.get(key) or ()}
        out[f"new_{key}"] = [v for v in want.get(key) or () if str(v).lower() not in licensed]
    return out


def _seat_increase(licensed: Any, requested: Any) -> dict[str, Any]:
    """How many seats more than licensed, absolutely and as a ratio (none when either is unknown)."""
    if requested is None or licensed is None:
        return {"seat_increase": None, "seat_increase_ratio": None}
    increase = requested - licensed
    return {"seat_increase": increase,
            "seat_increase_ratio": increase / licensed if licensed else float(requested > 0)}


def _value(fields: Mapping[str, Any], derived: Mapping[str, Any], name: str) -> Any:
    return derived[name] if name in derived else get_path(fields, name)


_Rule = tuple[str, int, str, str, Callable[[Mapping[str, Any], Mapping[str, Any]], Any], Callable[[Any], bool]]
_programs: dict[int, tuple[Policy, list[_Rule]]] = {}


def _reader(name: str) -> Callable[[Mapping[str, Any], Mapping[str, Any]], Any]:
    if name in DERIVED_FIELDS:
        return lambda _fields, derived: derived.get(name)
    head, _, rest = name.partition(".")
    if not rest:
        return lambda fields, _derived: fields.get(head)

    def read(fields: Mapping[str, Any], _derived: Mapping[str, Any]) -> Any:
        node = fields.get(head)
        if type(node) is dict:  # the usual case, without the (slow) ABC check
            return node.get(rest)
        return node.get(rest) if node is not None and isinstance(node, Mapping) else None

    return read


def _program(policy: Policy) -> list[_Rule]:
    """The policy's rules with their readers and bounds prepared once (scoring is on the sync hot path)."""
    cached = _programs.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]
    rules: list[_Rule] = []
    for rule in policy.compiled_rules:
        cond = rule["when"]
        expected = cond.get("value")
        if cond["op"] in ("gt", "gte", "lt", "lte") and not isinstance(expected, int):
            expected = Decimal(str(expected))
        rules.append((rule["dimension"], rule["points"], rule["because"], cond["field"], _reader(cond["field"]),
                      _predicate(cond["op"], expected)))
    if len(_programs) > 32:
        _programs.clear()
    _programs[id(policy)] = (policy, rules)
    return rules


def _predicate(op: str, expected: Any) -> Callable[[Any], bool]:
    """The rule's test as one closure (chosen once per policy, not per record and rule). The policy's schema
    has checked ``expected`` fits ``op`` (a list for the set operators, a number for the comparisons)."""
    if op == "present":
        return lambda actual: actual not in (None, "", [], {})
    if op in ("in", "not_in"):
        return _membership(expected, wanted=op == "in")
    if op == "contains_any":
        return _contains_any(expected)
    if op == "eq":
        return lambda actual: actual is not None and bool(actual == expected)
    if op == "ne":
        return lambda actual: actual is not None and bool(actual != expected)
    return _numeric(_COMPARE[op], expected)


def _membership(expected: Any, *, wanted: bool) -> Callable[[Any], bool]:
    """``in`` (``wanted``) or ``not_in`` a list of values; a missing value is neither."""
    listed = list(expected)
    try:
        options: Any = frozenset(listed)
    except TypeError:  # the list holds an unhashable value (a list)
        options = listed

    def member(actual: Any) -> bool:
        if actual is None:
            return False
        try:
            return (actual in options) is wanted
        except TypeError:  # an unhashable value (a list) is compared item by item
            return (actual in listed) is wanted

    return member


def _contains_any(expected: Any) -> Callable[[Any], bool]:
    """Whether the value, or one of its items, is one of ``expected`` (without regard to case)."""
    wanted = frozenset(str(v).lower() for v in expected)

    def contains_any(actual: Any) -> bool:
        if actual is None:
            return False
        have = actual if isinstance(actual, (list, tuple, set)) else [actual]
        return any(str(v).lower() in wanted for v in have)

    return contains_any


def _numeric(compare: Callable[[Any, Any], Any], expected: Any) -> Callable[[Any], bool]:
    bound = expected if isinstance(expected, int) else Decimal(str(expected))

    def numeric(actual: Any) -> bool:
        if actual is None:
            return False
        return bool(compare(actual if isinstance(actual, (Decimal, int)) else Decimal(str(actual)), bound))

    return numeric


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt,
                                                  "lte": operator.le}


@dataclass(frozen=True)
class TrackResult:
    track: str
    reasons: list[str] = field(default_factory=list)  # why not fast, or why fast


def decide_track(fields: Mapping[str, Any], policy: Policy, derived: Mapping[str, Any] | None = None) -> TrackResult:
    """``fast`` only when every fast-track condition holds; each failed condition is a reason."""
    rules = policy.data["fast_track"]
    derived = derived if derived is not None else derived_values(fields, policy)
    blocked: list[str] = []
    if fields.get("category") not in rules["categories"]:
        blocked.append(f"category {fields.get('category')} is not eligible for the fast track")
    revenue = derived["revenue_base"]
    if revenue is None:
        blocked.append("revenue impact unknown in the base currency")
    elif revenue > Decimal(str(rules["max_revenue_impact"])):
        blocked.append(f"revenue impact above {rules['max_revenue_impact']} {policy.data['base_currency']}")
    users = fields.get("user_base")
    if users is None:
        blocked.append("user base unknown")
    elif users > rules["max_user_base"]:
        blocked.append(f"user base above {rules['max_user_base']}")
    if fields.get("data_sensitivity") not in rules["data_sensitivity"]:
        blocked.append(f"data sensitivity {fields.get('data_sensitivity')} is not eligible")
    duration = derived["duration_days"]
    if duration is None:
        blocked.append("requested duration unknown (requested_start and requested_end)")
    elif duration > rules["max_duration_days"]:
        blocked.append(f"requested duration above {rules['max_duration_days']} days")
    if blocked:
        return TrackResult("standard", blocked)
    return TrackResult("fast", ["every fast-track condition holds"])


@dataclass(frozen=True)
class RiskResult:
    score: float
    band: str
    dimensions: dict[str, int]
    explanation: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "band": self.band, "dimensions": dict(self.dimensions),
                "explanation": [dict(e) for e in self.explanation]}


def score_risk(
    fields: Mapping[str, Any], policy: Policy, overrides: Mapping[str, Mapping[str, Any]] | None = None,
    derived: Mapping[str, Any] | None = None,
) -> RiskResult:
    """Apply every rule; dimensions are capped to 0..5; reviewers' overrides replace a dimension."""
    derived = derived if derived is not None else derived_values(fields, policy)
    dims = dict.fromkeys(DIMENSIONS, 0)
    explanation: list[dict[str, Any]] = []
    for dimension, points, because, field_name, read, holds in _program(policy):
        actual = read(fields, derived)
        if holds(actual):
            dims[dimension] += points
            explanation.append({"dimension": dimension, "points": points, "because": because,
                                "field": field_name, "value": _jsonable(actual)})
    dims = {k: 0 if v < 0 else 5 if v > 5 else v for k, v in dims.items()}
    for dim, override in (overrides or {}).items():
        dims[dim] = int(override["value"])
        explanation.append({
            "dimension": dim, "points": None, "because": f"Override to {override['value']} by "
            f"{override.get('by', 'a reviewer')}: {override['rationale']}", "field": None, "value": None,
        })
    weights, total, bands = policy.risk_scale
    score = round(sum(weight * dims[d] for d, weight in weights) / total, 2)
    band = next(b for b, floor in bands if score >= floor)
    return RiskResult(score=score, band=band, dimensions=dims, explanation=explanation)


def _jsonable(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
