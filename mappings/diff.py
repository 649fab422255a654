"""What changed between two mapping versions, for the audit log and the admin UI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappings.document import MappingDocument

_SECTIONS = ("inbound", "outbound")


def _as_dict(doc: Mapping[str, Any] | MappingDocument | None) -> Mapping[str, Any]:
    if doc is None:
        return {}
    if isinstance(doc, MappingDocument):
        return doc.to_dict()
    return doc


def _normal(rule: Any) -> Any:
    """`{from: X}` and `X` are the same rule; compare them as equal."""
    if isinstance(rule, Mapping) and set(rule) == {"from"}:
        return rule["from"]
    return rule


def _change(change: str, field: str, old: Any, new: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"change": change, "field": field}
    if change != "added":
        entry["old"] = old
    if change != "removed":
        entry["new"] = new
    return entry


def mapping_diff(
    old: Mapping[str, Any] | MappingDocument | None, new: Mapping[str, Any] | MappingDocument | None
) -> list[dict[str, Any]]:
    """Rule-level changes: `{"change": "added"|"removed"|"changed", "field": "inbound.x", "old", "new"}`.

    Top-level settings (`kind`, `object`, `select`, `description`) are compared as a whole; rules per target
    (inbound) or source field (outbound). Entries are sorted by field so the same change diffs the same way.
    """
    before, after = _as_dict(old), _as_dict(new)
    changes: list[dict[str, Any]] = []
    for key in sorted((set(before) | set(after)) - set(_SECTIONS), key=str):
        changes.extend(_compare(str(key), key in before, before.get(key), key in after, after.get(key)))
    for section in _SECTIONS:
        old_rules = before.get(section) or {}
        new_rules = after.get(section) or {}
        if not isinstance(old_rules, Mapping) or not isinstance(new_rules, Mapping):
            changes.extend(_compare(section, section in before, old_rules, section in after, new_rules))
            continue
        for name in sorted(set(old_rules) | set(new_rules), key=str):
            changes.extend(
                _compare(
                    f"{section}.{name}",
                    name in old_rules,
                    old_rules.get(name),
                    name in new_rules,
                    new_rules.get(name),
                )
            )
    return changes


def _compare(field: str, had: bool, old: Any, has: bool, new: Any) -> list[dict[str, Any]]:
    if had and not has:
        return [_change("removed", field, old, None)]
    if has and not had:
        return [_change("added", field, None, new)]
    if _normal(old) != _normal(new):
        return [_change("changed", field, old, new)]
    return []
