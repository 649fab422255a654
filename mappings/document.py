"""The mapping document (SPEC §4): its in-memory form, loading from YAML/JSON and writing back out.

The document is immutable once loaded, so a compiled inbound program cached against it can never go stale;
edits produce a new document (`resolve_placeholders`, or loading the edited dict).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import yaml

from mappings.paths import placeholders_in
from mappings.problems import MappingError, MappingProblem
from mappings.validation import structural_problems
from mappings.yaml_text import LOAD_ERRORS, MAX_DEPTH, unsafe_yaml


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
    programs: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)

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

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

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


class _DocumentLoader(yaml.SafeLoader):
    """YAML 1.2-ish reading: only true/false are booleans (`NO` is Norway, not False), dates stay text,
    and a key written twice is an error rather than a silent overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is written twice", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


_BOOL_TAG: Final = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG: Final = "tag:yaml.org,2002:timestamp"
_DocumentLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_DocumentLoader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def parse_text(text: str | bytes) -> Any:
    """Parse a YAML or JSON mapping document; raises MappingError(`bad_syntax`) with the line at fault."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise MappingError(
                [MappingProblem("document", "bad_syntax", "The mapping document is not UTF-8 text.")]
            ) from None
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            pass
        except RecursionError:
            raise MappingError([MappingProblem("document", "yaml_too_deep", f"The document nests more than "
                                               f"{MAX_DEPTH} levels deep; send a flatter one.")]) from None
    problem = unsafe_yaml(text)
    if problem is not None:
        raise MappingError([MappingProblem("document", problem.code, problem.message)])
    try:
        return yaml.load(text, Loader=_DocumentLoader)
    except LOAD_ERRORS as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        reason = getattr(exc, "problem", None) or str(exc)
        raise MappingError(
            [MappingProblem("document", "bad_syntax", f"The mapping is not valid YAML/JSON{where}: {reason}.")]
        ) from None


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


def load_mapping(source: str | bytes | Mapping[str, Any] | MappingDocument) -> MappingDocument:
    """Load a mapping from YAML/JSON text or its dict form.

    Refuses (MappingError, listing every problem) a document whose *structure* is wrong: bad kind, unknown
    keys, malformed rules or transforms. Whether targets, outbound paths, source fields and placeholders are
    known needs the catalogue and the live connection: that is `validate_mapping`.
    """
    if isinstance(source, MappingDocument):
        return source
    data = parse_text(source) if isinstance(source, str | bytes) else source
    problems = structural_problems(data)
    if problems:
        raise MappingError(problems)
    return document_from_data(data)
