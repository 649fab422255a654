"""Policy simulation: what a draft policy would change for requests already seen, before anyone saves it.

Each request is assessed twice from its stored fields — under the policy in force and under the draft — with the
same completion time and the same reviewers' risk overrides, so the only difference is the policy. Requests whose
track, band, score, required roles or SLA due date would differ are listed with the reasons on both sides; the
totals say how many would move to each track and band and how the load on each committee role changes. Nothing
here touches storage: callers pass plain data in and get plain data out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.governance.policy import Policy
from connector.governance.sla import due_at
from connector.governance.triage import decide_track, derived_values, score_risk

#: what is compared, in the order a difference is reported
ASPECTS = ("track", "band", "score", "required_roles", "due_at")


@dataclass(frozen=True)
class Case:
    """A request as the simulation needs it: typed governance fields, when it was complete, its overrides."""

    request_id: str
    key: str
    state: str
    fields: Mapping[str, Any]
    completed_at: datetime | None = None
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Assessment:
    """Track, risk and review load of one request under one policy, with the reasons."""

    track: str
    band: str
    score: float
    required_roles: tuple[str, ...]
    due_at: datetime | None
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"track": self.track, "band": self.band, "score": self.score,
                "required_roles": list(self.required_roles),
                "due_at": self.due_at.isoformat() if self.due_at else None, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Difference:
    case: Case
    now: Assessment
    draft: Assessment
    changed: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.case.request_id, "key": self.case.key, "state": self.case.state,
                "changed": list(self.changed), "now": self.now.to_dict(), "draft": self.draft.to_dict()}


@dataclass
class Totals:
    requests: int = 0
    changed: int = 0
    to_fast: int = 0
    to_standard: int = 0
    band_moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    bands_now: Counter[str] = field(default_factory=Counter)
    bands_draft: Counter[str] = field(default_factory=Counter)
    load_now: Counter[str] = field(default_factory=Counter)
    load_draft: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        roles = sorted(set(self.load_now) | set(self.load_draft))
        return {
            "requests": self.requests, "changed": self.changed, "to_fast_track": self.to_fast,
            "to_standard_track": self.to_standard,
            "band_moves": [{"from": a, "to": b, "requests": n} for (a, b), n in sorted(self.band_moves.items())],
            "bands": {"now": dict(sorted(self.bands_now.items())), "draft": dict(sorted(self.bands_draft.items()))},
            "reviewer_load": {role: {"now": self.load_now[role], "draft": self.load_draft[role],
                                     "change": self.load_draft[role] - self.load_now[role]} for role in roles},
        }


@dataclass
class Simulation:
    differences: list[Difference]
    totals: Totals

    def to_dict(self) -> dict[str, Any]:
        return {"totals": self.totals.to_dict(), "differences": [d.to_dict() for d in self.differences]}


def assess_case(case: Case, policy: Policy, dues: dict[tuple[Any, ...], datetime] | None = None) -> Assessment:
    """The case under ``policy``: track, band, score, the roles that must vote, and the SLA due date (``dues``:
    due dates already counted, by completion time, track and SLA terms — both sides of a simulation mostly share
    them, and counting business days is the costliest step)."""
    derived = derived_values(case.fields, policy)
    track = decide_track(case.fields, policy, derived)
    risk = score_risk(case.fields, policy, case.overrides or None, derived)
    due = None
    if case.completed_at is not None:
        key = (case.completed_at, track.track, repr(sorted(policy.sla.items())))
        due = dues.get(key) if dues is not None else None
        if due is None:
            due = due_at(case.completed_at, track.track, policy.sla)
            if dues is not None:
                dues[key] = due
    reasons = [*track.reasons, *(str(e["because"]) for e in risk.explanation)]
    return Assessment(track.track, risk.band, risk.score, tuple(policy.required_roles(track.track, risk.band)),
                      due, tuple(reasons))


def simulate(cases: Iterable[Case], current: Policy, draft: Policy) -> Simulation:
    """Every case under both policies; the differences, and totals over all cases."""
    totals = Totals()
    differences: list[Difference] = []
    dues: dict[tuple[Any, ...], datetime] = {}
    for case in cases:
        now, then = assess_case(case, current, dues), assess_case(case, draft, dues)
        if len(dues) > 4096:
            dues.clear()
        totals.requests += 1
        totals.bands_now[now.band] += 1
        totals.bands_draft[then.band] += 1
        totals.load_now.update(now.required_roles)
        totals.load_draft.update(then.required_roles)
        changed = tuple(aspect for aspect in ASPECTS if getattr(now, aspect) != getattr(then, aspect))
        if not changed:
            continue
        totals.changed += 1
        if now.track != then.track:
            totals.to_fast += then.track == "fast"
            totals.to_standard += then.track == "standard"
        if now.band != then.band:
            totals.band_moves[(now.band, then.band)] += 1
        differences.append(Difference(case, now, then, changed))
    return Simulation(differences, totals)


__all__ = ["ASPECTS", "Assessment", "Case", "Difference", "Simulation", "Totals", "assess_case", "simulate"]
