"""Precedents: the decided requests most like this one (SPEC §2.4 "Precedents").

Reviewers decide alike cases alike only if they can see the alike cases and why they are alike, so the
similarity is a fixed, additive score whose every point comes with a reason:

=========================  ======  ==========================================================
signal                     weight  credit
=========================  ======  ==========================================================
same category              0.40    all or nothing
requested term keys        0.30    Jaccard overlap of the non-empty ``requested_terms`` keys
revenue impact             0.10    log-scale closeness of the amounts (same currency, or both
                                   convertible through ``fx_rates``)
size                       0.10    log-scale closeness of requested ``seats`` when both ask for
                                   seats, else of ``user_base``
same customer segment      0.10    all or nothing (case-insensitive)
=========================  ======  ==========================================================

Log-scale closeness of ``a`` and ``b`` is ``max(0, 1 - log10(r) / 2)`` with ``r = (max + 1) / (min + 1)``:
equal values score 1, a factor of 10 scores 0.5, a factor of 100 or more scores 0. A signal that is missing
on either side scores 0. Candidates scoring 0 are not precedents and are left out.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

WEIGHT_CATEGORY = 0.40
WEIGHT_TERMS = 0.30
WEIGHT_REVENUE = 0.10
WEIGHT_SIZE = 0.10
WEIGHT_SEGMENT = 0.10


@dataclass(frozen=True)
class Precedent:
    """A decided request shown next to the one under review, with why it was picked."""

    id: Any
    key: str | None
    category: str | None
    outcome: str
    rationale: str | None
    decided_at: datetime | None
    score: float
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``GET /api/v1/requests/<id>/precedents``."""
        return {
            "id": self.id,
            "key": self.key,
            "category": self.category,
            "outcome": self.outcome,
            "rationale": self.rationale,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "score": self.score,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class _Profile:
    """The comparable features of one request, extracted once."""

    category: str | None
    term_keys: frozenset[str]
    revenue: float | None
    currency: str | None
    revenue_base: float | None
    seats: float | None
    user_base: float | None
    segment: str | None


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _profile(request: Mapping[str, Any], fx_rates: Mapping[str, Any] | None) -> _Profile:
    terms = _mapping(request.get("requested_terms"))
    revenue = _mapping(request.get("revenue_impact"))
    amount = _number(revenue.get("amount"))
    currency = (_text(revenue.get("currency")) or "").upper() or None
    revenue_base = None
    if amount is not None and currency and fx_rates:
        rate = _number(fx_rates.get(currency))
        revenue_base = amount * rate if rate is not None else None
    return _Profile(
        category=_text(request.get("category")),
        term_keys=frozenset(k for k, v in terms.items() if v not in (None, "", [], {})),
        revenue=amount,
        currency=currency,
        revenue_base=revenue_base,
        seats=_number(terms.get("seats")),
        user_base=_number(request.get("user_base")),
        segment=_text(_mapping(request.get("customer")).get("segment")),
    )


def _ratio(a: float, b: float) -> float:
    return (max(a, b) + 1) / (min(a, b) + 1)


def _closeness(ratio: float) -> float:
    return max(0.0, 1 - math.log10(ratio) / 2)


def _within(ratio: float) -> str | None:
    if ratio <= 2:
        return "within 2x"
    if ratio <= 10:
        return "within 10x"
    return None


def _similarity(target: _Profile, other: _Profile) -> tuple[float, list[str]]:
    """The additive score of the module's table, each signal with its reason."""
    score = 0.0
    reasons: list[str] = []
    for points, reason in (_same(WEIGHT_CATEGORY, target.category, other.category, "same category"),
                           _terms(target, other), _revenue(target, other), _size(target, other),
                           _same(WEIGHT_SEGMENT, target.segment, other.segment, "same segment")):
        score += points
        if reason:
            reasons.append(reason)
    return round(min(score, 1.0), 3), reasons


#: one signal: the points earned (its weight times its credit) and the reason shown (None: none to show)
_Signal = tuple[float, str | None]
_NOTHING: _Signal = (0.0, None)


def _same(weight: float, mine: str | None, theirs: str | None, reason: str) -> _Signal:
    return (weight, reason) if mine and mine == theirs else _NOTHING


def _terms(target: _Profile, other: _Profile) -> _Signal:
    union = target.term_keys | other.term_keys
    shared = len(target.term_keys & other.term_keys)
    if not shared:
        return _NOTHING
    return WEIGHT_TERMS * shared / len(union), f"{shared} of {len(union)} term keys shared"


def _revenue(target: _Profile, other: _Profile) -> _Signal:
    """Amounts in the same currency, else both converted to the base currency."""
    if target.revenue is not None and other.revenue is not None and target.currency == other.currency:
        return _closeness_signal(WEIGHT_REVENUE, "revenue", target.revenue, other.revenue)
    if target.revenue_base is not None and other.revenue_base is not None:
        return _closeness_signal(WEIGHT_REVENUE, "revenue", target.revenue_base, other.revenue_base)
    return _NOTHING


def _size(target: _Profile, other: _Profile) -> _Signal:
    """Requested seats when both ask for seats, else the user base."""
    if target.seats is not None and other.seats is not None:
        return _closeness_signal(WEIGHT_SIZE, "seats", target.seats, other.seats)
    if target.user_base is not None and other.user_base is not None:
        return _closeness_signal(WEIGHT_SIZE, "user base", target.user_base, other.user_base)
    return _NOTHING


def _closeness_signal(weight: float, name: str, a: float, b: float) -> _Signal:
    ratio = _ratio(a, b)
    within = _within(ratio)
    return weight * _closeness(ratio), f"{name} {within}" if within else None


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


#: score, decision timestamp, id (the sort key), then candidate, decision, decided_at, reasons.
_Ranked = tuple[float, float, str, Mapping[str, Any], Mapping[str, Any], datetime | None, list[str]]


def rank_precedents(
    target: Mapping[str, Any],
    candidates: Iterable[Mapping[str, Any]],
    limit: int = 5,
    *,
    fx_rates: Mapping[str, Any] | None = None,
) -> list[Precedent]:
    """The ``limit`` decided requests most similar to ``target``, most similar first.

    Requests are dicts in the public request shape. Candidates without a decision, and the target itself,
    are skipped. Equal scores go to the most recent decision, then to the greater id, so the order is stable.
    ``fx_rates`` (the policy's, units of base currency per unit) lets amounts in different currencies be
    compared; without it only amounts in the same currency are.
    """
    if limit <= 0:
        return []
    own = _profile(target, fx_rates)
    target_id = target.get("id")
    ranked: list[_Ranked] = []
    for candidate in candidates:
        decision = candidate.get("decision")
        if not isinstance(decision, Mapping) or not decision.get("outcome"):
            continue
        if target_id is not None and candidate.get("id") == target_id:
            continue
        score, reasons = _similarity(own, _profile(candidate, fx_rates))
        if score <= 0:
            continue
        decided = _moment(decision.get("decided_at"))
        stamp = decided.timestamp() if decided else float("-inf")
        ranked.append((score, stamp, str(candidate.get("id")), candidate, decision, decided, reasons))
    best = heapq.nlargest(limit, ranked, key=lambda row: (row[0], row[1], row[2]))
    return [
        Precedent(
            id=candidate.get("id"),
            key=candidate.get("key"),
            category=candidate.get("category"),
            outcome=str(decision["outcome"]),
            rationale=decision.get("rationale"),
            decided_at=decided,
            score=score,
            reasons=reasons,
        )
        for score, _, _, candidate, decision, decided, reasons in best
    ]
