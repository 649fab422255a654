"""Predefined outcomes: what the policy grants as standard for each category, and how a decision departs from it.

A category's outcome (policy ``outcomes.<category>``) bounds what a standard grant may give — seats over the
baseline, how long it lasts, how far the term is extended, which regions, environments, features and usage rights
it may add — and lists the conditions and success metrics that come with it. A decision is *standard* when its
grants and period stay inside those bounds and it keeps the standard conditions; otherwise it is *bespoke*, and
every departure is named. A category without a predefined outcome has no standard: its decisions are neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

LIST_TERMS = ("regions", "environments", "features", "usage_rights")


class OutcomeSchema(Schema):
    """One category's predefined outcome (all bounds optional: an absent bound does not limit)."""

    class Meta:
        unknown = RAISE

    description = fields.String(load_default="")
    max_seat_increase_ratio = fields.Float(validate=validate.Range(min=0, max=100), load_default=None)
    max_seats_added = fields.Integer(validate=validate.Range(min=0), load_default=None)
    max_duration_days = fields.Integer(validate=validate.Range(min=1, max=3650), load_default=None)
    max_term_extension_days = fields.Integer(validate=validate.Range(min=0, max=3650), load_default=None)
    allowed = fields.Dict(keys=fields.String(validate=validate.OneOf(LIST_TERMS)),
                          values=fields.List(fields.String(validate=validate.Length(min=1, max=200))),
                          load_default=dict)
    conditions = fields.List(fields.String(validate=validate.Length(min=1, max=1000)), load_default=list)
    success_metrics = fields.List(fields.String(validate=validate.Length(min=1, max=1000)), load_default=list)
    fast_track_may_grant = fields.Boolean(load_default=True)


@dataclass(frozen=True)
class Verdict:
    """Whether a decision is the category's predefined outcome (``standard``: None when there is none)."""

    standard: bool | None
    departures: tuple[str, ...] = ()

    @property
    def bespoke(self) -> bool:
        return self.standard is False

    def to_dict(self) -> dict[str, Any]:
        return {"standard": self.standard, "bespoke": self.bespoke, "departures": list(self.departures)}


def _seat_cap(outcome: Mapping[str, Any], baseline: Any) -> int | None:
    if not isinstance(baseline, int) or isinstance(baseline, bool):
        return None
    caps = []
    if outcome.get("max_seat_increase_ratio") is not None:
        caps.append(baseline + int(baseline * float(outcome["max_seat_increase_ratio"])))
    if outcome.get("max_seats_added") is not None:
        caps.append(baseline + int(outcome["max_seats_added"]))
    return min(caps) if caps else None


def prefill(outcome: Mapping[str, Any], fields_: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The entitlement a decision form starts from: the requested terms within the standard bounds, the
    standard period, conditions and success metrics."""
    requested = dict(fields_.get("requested_terms") or {})
    baseline = dict(fields_.get("baseline_terms") or {})
    grants = _granted_terms(outcome, requested, baseline)
    start, end = _period(outcome, fields_, today)
    return {"grants": grants, "effective_from": start, "expires_at": end,
            "conditions": list(outcome.get("conditions") or []),
            "success_metrics": list(outcome.get("success_metrics") or [])}


def _granted_terms(outcome: Mapping[str, Any], requested: Mapping[str, Any],
                   baseline: Mapping[str, Any]) -> dict[str, Any]:
    grants: dict[str, Any] = {}
    seats, cap = requested.get("seats"), _seat_cap(outcome, baseline.get("seats"))
    if seats is not None:
        grants["seats"] = min(seats, cap) if cap is not None else seats
    for term in LIST_TERMS:
        allowed = (outcome.get("allowed") or {}).get(term)
        kept = [v for v in requested.get(term) or () if allowed is None or v in allowed]
        if kept:
            grants[term] = kept
    term_end = requested.get("term_end")
    if isinstance(term_end, date):
        grants["term_end"] = _capped_term_end(outcome, baseline.get("term_end"), term_end)
    return grants


def _period(outcome: Mapping[str, Any], fields_: Mapping[str, Any], today: date) -> tuple[date, date | None]:
    """From the requested start (not before today) to the requested end, within the standard duration."""
    requested_start, requested_end = fields_.get("requested_start"), fields_.get("requested_end")
    start = max(requested_start, today) if isinstance(requested_start, date) else today
    end = requested_end if isinstance(requested_end, date) else None
    longest = outcome.get("max_duration_days")
    if longest is not None:
        limit = start + timedelta(days=int(longest))
        end = min(end, limit) if end else limit
    return start, end


def _capped_term_end(outcome: Mapping[str, Any], baseline: Any, wanted: date) -> date:
    limit = outcome.get("max_term_extension_days")
    if limit is None or not isinstance(baseline, date):
        return wanted
    return min(wanted, baseline + timedelta(days=int(limit)))


def judge(outcome: Mapping[str, Any] | None, fields_: Mapping[str, Any], entitlement: Mapping[str, Any] | None,
          outcome_name: str, track: str | None = None) -> Verdict:
    """Standard or bespoke: a denial is outside predefined outcomes (``standard`` None), as is a category with
    none; an approval departs for each bound it exceeds and each standard condition it drops, and a fast-track
    grant departs when the policy says the fast track may not grant this category's outcome."""
    if outcome is None or outcome_name == "denied" or entitlement is None:
        return Verdict(None)
    grants = dict(entitlement.get("grants") or {})
    baseline = dict(fields_.get("baseline_terms") or {})
    departures = [*_seat_departures(outcome, grants, baseline), *_list_departures(outcome, grants),
                  *_period_departures(outcome, entitlement, grants, baseline)]
    kept = set(entitlement.get("conditions") or [])
    departures += [f"drops the standard condition {c!r}" for c in outcome.get("conditions") or () if c not in kept]
    if track == "fast" and outcome.get("fast_track_may_grant") is False:
        departures.append("granted on the fast track, which the policy does not let grant this category's outcome")
    return Verdict(not departures, tuple(departures))


def _seat_departures(outcome: Mapping[str, Any], grants: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    seats, cap = grants.get("seats"), _seat_cap(outcome, baseline.get("seats"))
    if seats is None or cap is None or int(seats) <= cap:
        return []
    return [f"grants {seats} seats; the standard outcome allows at most {cap} (baseline {baseline.get('seats')})"]


def _list_departures(outcome: Mapping[str, Any], grants: Mapping[str, Any]) -> list[str]:
    found = []
    for term, allowed in (outcome.get("allowed") or {}).items():
        extra = [v for v in grants.get(term) or () if v not in allowed]
        if extra:
            found.append(f"grants {term} {', '.join(map(str, extra))} beyond the standard "
                         f"{', '.join(allowed) or 'none'}")
    return found


def _period_departures(outcome: Mapping[str, Any], entitlement: Mapping[str, Any], grants: Mapping[str, Any],
                       baseline: Mapping[str, Any]) -> list[str]:
    found = []
    start, end = entitlement.get("effective_from"), entitlement.get("expires_at")
    longest = outcome.get("max_duration_days")
    if longest is not None and isinstance(start, date) and isinstance(end, date) and (end - start).days > longest:
        found.append(f"lasts {(end - start).days} days; the standard outcome lasts at most {longest}")
    term_end, base_end = _as_date(grants.get("term_end")), _as_date(baseline.get("term_end"))
    limit = outcome.get("max_term_extension_days")
    if limit is not None and term_end and base_end and (term_end - base_end).days > limit:
        found.append(f"extends the term by {(term_end - base_end).days} days; the standard outcome extends it "
                     f"by at most {limit}")
    return found


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


__all__ = ["LIST_TERMS", "OutcomeSchema", "Verdict", "judge", "prefill"]
