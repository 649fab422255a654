"""Intake (SPEC §2.2): deterministic completeness and conflict checks that explain themselves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.governance.paths import get_path, is_blank
from connector.governance.policy import Policy


@dataclass(frozen=True)
class Conflict:
    code: str
    message: str
    fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fields": list(self.fields)}


@dataclass(frozen=True)
class IntakeResult:
    missing: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Ready for review: nothing missing, nothing invalid, nothing contradictory."""
        return not self.missing and not self.errors and not self.conflicts

    def to_dict(self) -> dict[str, Any]:
        return {
            "missing": list(self.missing),
            "errors": dict(self.errors),
            "conflicts": [c.to_dict() for c in self.conflicts],
        }


def run_intake(
    fields: Mapping[str, Any], policy: Policy, field_errors: Mapping[str, str] | None = None
) -> IntakeResult:
    """Check a mapped request. ``field_errors`` are values a source sent that could not be read."""
    errors = dict(field_errors or {})
    missing: list[str] = []
    for path in policy.required_paths:
        if errors and (path in errors or any(e.startswith(path + ".") for e in errors)):
            continue
        if is_blank(get_path(fields, path)):
            missing.append(path)
    category = fields.get("category")
    if category is not None and "category" not in errors and category not in policy.category_set:
        errors["category"] = f"Unknown category '{category}'. Use one of: {', '.join(policy.categories)}."
    return IntakeResult(missing=missing, errors=errors, conflicts=find_conflicts(fields))


def _as_set(values: Any) -> set[str]:
    return {str(v).strip().lower() for v in values or ()}


def find_conflicts(fields: Mapping[str, Any]) -> list[Conflict]:
    """Contradictions in a request, each with a stable code."""
    base: Mapping[str, Any] = fields.get("baseline_terms") or {}
    want: Mapping[str, Any] = fields.get("requested_terms") or {}
    return [*_period_conflicts(fields), *_terms_conflicts(base, want), *_licensed_conflicts(base, want),
            *_category_conflicts(fields, want)]


def _period_conflicts(fields: Mapping[str, Any]) -> list[Conflict]:
    start, end = fields.get("requested_start"), fields.get("requested_end")
    if start and end and end < start:
        return [Conflict("end_before_start", f"requested_end {end} is before requested_start {start}.",
                         ("requested_start", "requested_end"))]
    return []


def _terms_conflicts(base: Mapping[str, Any], want: Mapping[str, Any]) -> list[Conflict]:
    """Requested terms that are no more than the licensed ones: within the license, not an exception."""
    out: list[Conflict] = []
    if want.get("seats") is not None and base.get("seats") is not None and want["seats"] <= base["seats"]:
        out.append(Conflict("seats_not_increased",
                            f"Requested seats ({want['seats']}) are not above the licensed "
                            f"{base['seats']}: that is within the current license, not an exception.",
                            ("requested_terms.seats", "baseline_terms.seats")))
    if want.get("term_end") and base.get("term_end") and want["term_end"] <= base["term_end"]:
        out.append(Conflict("term_end_not_extended",
                            f"Requested term_end {want['term_end']} is not after the licensed "
                            f"{base['term_end']}.",
                            ("requested_terms.term_end", "baseline_terms.term_end")))
    return out


def _licensed_conflicts(base: Mapping[str, Any], want: Mapping[str, Any]) -> list[Conflict]:
    out: list[Conflict] = []
    for key in ("environments", "regions", "features"):
        asked = _as_set(want.get(key))
        if asked and asked <= _as_set(base.get(key)):
            out.append(Conflict(f"{key}_already_licensed",
                                f"Every requested {key[:-1]} ({', '.join(sorted(asked))}) is already in "
                                "the current license.",
                                (f"requested_terms.{key}", f"baseline_terms.{key}")))
    return out


def _category_conflicts(fields: Mapping[str, Any], want: Mapping[str, Any]) -> list[Conflict]:
    if fields.get("category") == "term_extension" and not want.get("term_end"):
        return [Conflict("term_extension_without_term_end", "A term extension must say the requested term_end.",
                         ("requested_terms.term_end",))]
    return []
