"""The mapping document (SPEC §4): its in-memory form and writing it back out (reading it: `mappings.loading`).

The document is immutable once loaded, so a program compiled from it can never go stale; edits produce a new
document (`resolve_placeholders`, or loading the edited dict).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from mappings.paths import placeholders_in


@dataclass(frozen=True, slots=True)
class InboundRule:
    """How one governance field is read from a source record.

    `None` in an option means "not written in the document", so `to_raw()` gives back what the admin wrote.
    """

    source: str | None = None
    type: str | None = None
    map: Mapping[str, Any] | None = None
    default: Any = None
    strict: bool | None = None
    split: str | None = None
    trim: bool | None = None
    case: str | None = None

    @classmethod
    def from_raw(cls, raw: str | Mapping[str, Any]) -> InboundRule:
        """Build from the document's form: a source path, or a dict of `from`, `type`, `map`, ..."""
        if isinstance(raw, str):
            return cls(source=raw)
        value_map = raw.get("map")
        default = raw.get("default")
        return cls(
            source=raw.get("from"),
            type=raw.get("type"),
            map=MappingProxyType({map_key(k): v for k, v in value_map.items()}) if value_map else None,
            default=list(default) if isinstance(default, list) else default,
            strict=raw.get("strict"),
            split=raw.get("split"),
            trim=raw.get("trim"),
            case=raw.get("case"),
        )

    @property
    def is_strict(self) -> bool:
        """Unmapped values are errors unless the rule says otherwise or gives a default to fall back to."""
        if self.strict is not None:
            return self.strict
        return self.default is None

    def to_raw(self) -> str | dict[str, Any]:
        """The compact document form: a bare path when the rule has no options."""
        options: dict[str, Any] = {}
        if self.type is not None:
            options["type"] = self.type
        if self.map is not None:
            options["map"] = dict(self.map)
        if self.default is not None:
            options["default"] = list(self.default) if isinstance(self.default, list) else self.default
        if self.strict is not None:
            options["strict"] = self.strict
        if self.split is not None:
            options["split"] = self.split
        if self.trim is not None:
            options["trim"] = self.trim
        if self.case is not None:
            options["case"] = self.case
        if not options and self.source is not None:
            return self.source
        return {"from": self.source, **options} if self.source is not None else options


def map_key(key: Any) -> str:
    """Value-map keys are compared as text; YAML `true:` and a JSON `true` both become `true`."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


@dataclass(frozen=True, slots=True)
class MappingDocument:
    """A validated-in-structure mapping document; catalogue checks are `validate_mapping`'s job."""

    kind: str
    inbound: Mapping[str, InboundRule]
    outbound: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    object: str | None = None
    select: Mapping[str, Any] | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The public document structure (the same as the YAML file and the API's JSON)."""
        data: dict[str, Any] = {"kind": self.kind}
        if self.description is not None:
            data["description"] = self.description
        if self.object is not None:
            data["object"] = self.object
        if self.select is not None:
            data["select"] = dict(self.select)
        data["inbound"] = {target: rule.to_raw() for target, rule in self.inbound.items()}
        data["outbound"] = dict(self.outbound)
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=110)

    def source_paths(self) -> list[str]:
        """Distinct source paths the inbound rules read, in document order (e.g. for a SOQL field list)."""
        seen: dict[str, None] = {}
        for rule in self.inbound.values():
            if rule.source:
                seen.setdefault(rule.source, None)
        return list(seen)

    def placeholders(self) -> list[str]:
        """Distinct placeholder names still present in source paths and outbound keys."""
        names: dict[str, None] = {}
        for path in self._paths_and_keys():
            for name in placeholders_in(path):
                names.setdefault(name, None)
        return list(names)

    def _paths_and_keys(self) -> Iterator[str]:
        for rule in self.inbound.values():
            if rule.source:
                yield rule.source
        yield from self.outbound


def document_from_data(data: Mapping[str, Any]) -> MappingDocument:
    """Build a document from data that has passed `structural_problems` (no checks repeated here)."""
    inbound = data.get("inbound") or {}
    outbound = data.get("outbound") or {}
    select = data.get("select")
    return MappingDocument(
        kind=data["kind"],
        object=data.get("object"),
        select=MappingProxyType(dict(select)) if select is not None else None,
        description=data.get("description"),
        inbound=MappingProxyType({target: InboundRule.from_raw(raw) for target, raw in inbound.items()}),
        outbound=MappingProxyType(dict(outbound)),
    )
