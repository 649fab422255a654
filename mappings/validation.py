"""Checking a mapping document, reporting every problem at once (never stopping at the first).

Two layers: `structural_problems` needs nothing but the document (shape, keys, rules, transforms) and is what
`load_mapping` enforces; `validate_mapping` adds what needs context the caller passes in: the dialect of the
source the mapping reads (object, select, path and write-back key syntax), the governance catalogue (targets
and outbound paths), the live source's fields, and placeholder values.

Checks work on the raw dict so that a rule with several faults reports all of them. Nothing here knows a source
kind by name: what differs between kinds is declared by the kind's `SourceDialect`.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

from mappings.dialect import SourceDialect
from mappings.document import MappingDocument
from mappings.parsing import parse_text
from mappings.paths import fill, path_problem, placeholders_in
from mappings.problems import MappingError, MappingProblem
from mappings.storable import unstorable
from mappings.transforms import (
    CASES,
    COERCIONS,
    COMPATIBLE_TYPES,
    RULE_TYPES,
    InvalidValue,
)

TOP_KEYS: Final[tuple[str, ...]] = ("kind", "description", "object", "select", "inbound", "outbound")
RULE_KEYS: Final[tuple[str, ...]] = ("from", "type", "map", "default", "strict", "split", "trim", "case")

_TARGET: Final = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*")
_SCALARS: Final = (str, int, float, bool)


def _suggest(name: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True)
class _Context:
    """What the caller knows beyond the document; a None member disables the checks that need it.

    `dialect` is None for structural checks, and for a document naming another kind than the dialect's (its
    source-specific checks would only repeat that it is for another source).
    """

    dialect: SourceDialect | None = None
    targets: Mapping[str, str] | None = None
    outbound_paths: Collection[str] | None = None
    source_fields: Collection[str] | None = None
    placeholders: Mapping[str, str | int] | None = None
    check_placeholders: bool = False
    enums: Mapping[str, Collection[str]] | None = None

    @cached_property
    def known_sources(self) -> set[str] | None:
        return {str(name).lower() for name in self.source_fields} if self.source_fields is not None else None

    def resolve(self, path: str) -> str:
        return fill(path, self.placeholders) if self.placeholders else path


def structural_problems(data: Any) -> list[MappingProblem]:
    """Problems that make a document unusable whatever the source, catalogue and connection."""
    return list(_document_problems(data, _Context()))


def validate_mapping(
    doc_or_dict: MappingDocument | Mapping[str, Any] | str,
    dialect: SourceDialect,
    targets: Mapping[str, str],
    outbound_paths: Sequence[str],
    source_fields: Collection[str] | None = None,
    placeholders: Mapping[str, str | int] | None = None,
    *,
    enums: Mapping[str, Collection[str]] | None = None,
) -> list[MappingProblem]:
    """Every problem with a mapping for a source of `dialect` against the governance catalogue (and the live
    source, when given).

    The document's `kind` must be the dialect's name. `targets` is the governance catalogue (dotted path ->
    type name) and `outbound_paths` the governance paths an outbound rule may read. `source_fields`, when
    given, are the source's field names (Salesforce describe; Zendesk ticket field ids and attributes): the
    first segment of each source path must be one of them (`Account__r.Name` passes when `Account__r` or
    `Account__c` is known). `placeholders` are the values `{name}` placeholders will take; a placeholder without
    one is an `unresolved_placeholder`. `enums` (target -> allowed values) lets value maps and defaults of enum
    targets be checked too.
    """
    if isinstance(doc_or_dict, str):
        try:
            data: Any = parse_text(doc_or_dict)
        except MappingError as exc:
            return exc.problems
    elif isinstance(doc_or_dict, MappingDocument):
        data = doc_or_dict.to_dict()
    else:
        data = doc_or_dict
    context = _Context(dialect, targets, outbound_paths, source_fields, placeholders, True, enums)
    return list(_document_problems(data, context))


def _document_problems(data: Any, ctx: _Context) -> Iterator[MappingProblem]:
    if not isinstance(data, Mapping):
        yield MappingProblem(
            "document", "not_a_mapping", "A mapping document is an object with kind, inbound and outbound."
        )
        return
    bad_values = [MappingProblem(path if path != "(body)" else "document", "unstorable_value", message)
                  for path, message in unstorable(data)]
    if bad_values:
        yield from bad_values
        return
    for key in data:
        if key not in TOP_KEYS:
            yield MappingProblem(
                str(key),
                "unknown_key",
                f"Unknown key {key!r} in the mapping document (allowed: {', '.join(TOP_KEYS)})."
                + _suggest(str(key), TOP_KEYS),
            )
    kind_problem = _kind_problem(data.get("kind"), ctx.dialect)
    if kind_problem is not None:
        yield kind_problem
        ctx = dataclasses.replace(ctx, dialect=None)
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        yield MappingProblem("description", "bad_description", "description must be text.")
    if ctx.dialect is not None:
        yield from _object_problems(ctx.dialect, data.get("object"))
        yield from _select_problems(ctx.dialect, data.get("select"))
    yield from _sections_problems(data, ctx)


def _kind_problem(kind: Any, dialect: SourceDialect | None) -> MappingProblem | None:
    """Without a dialect any kind name will do (loading); with one, the document must be for its source."""
    if dialect is None:
        if isinstance(kind, str) and kind:
            return None
        expected = "kind must name the kind of source the mapping reads"
    elif kind == dialect.name:
        return None
    else:
        expected = f"kind must be {dialect.name}"
    return MappingProblem(
        "kind", "bad_kind", expected + (f", not {kind!r}." if kind is not None else "; it is missing.")
    )


def _sections_problems(data: Mapping[str, Any], ctx: _Context) -> Iterator[MappingProblem]:
    inbound = data.get("inbound")
    if inbound is None:
        yield MappingProblem(
            "inbound", "missing_inbound", "The mapping needs an inbound section (governance field: source)."
        )
    elif not isinstance(inbound, Mapping):
        yield MappingProblem("inbound", "bad_section", "inbound must map governance fields to source rules.")
    else:
        targets = [t for t in inbound if isinstance(t, str)]
        for target, raw in inbound.items():
            yield from _inbound_problems(target, raw, targets, ctx)

    outbound = data.get("outbound")
    if outbound is not None and not isinstance(outbound, Mapping):
        yield MappingProblem("outbound", "bad_section", "outbound must map source fields to governance paths.")
    elif outbound:
        yield from _outbound_problems(outbound, ctx)


def _object_problems(dialect: SourceDialect, obj: Any) -> Iterator[MappingProblem]:
    if dialect.object_name is None:
        if obj is not None:
            yield MappingProblem(
                "object", "bad_object", f"object does not apply to {dialect.label} mappings; remove it."
            )
    elif obj is None or obj == "":
        yield MappingProblem("object", "missing_object", f"A {dialect.label} mapping names {dialect.object_hint}.")
    elif not isinstance(obj, str) or not dialect.object_name.fullmatch(obj):
        yield MappingProblem("object", "bad_object", f"object must be a {dialect.label} API name, not {obj!r}.")


def _select_problems(dialect: SourceDialect, select: Any) -> Iterator[MappingProblem]:
    if select is None:
        return
    selectors = dialect.selectors
    if not selectors:
        reads = f"; {dialect.label} reads the object." if dialect.object_name is not None else "."
        yield MappingProblem("select", "bad_select", f"select does not apply to {dialect.label} mappings" + reads)
        return
    if not isinstance(select, Mapping) or not select:
        shapes = " or ".join(f"{{{key}: {selector.shape}}}" for key, selector in selectors.items())
        yield MappingProblem("select", "bad_select", f"select must be {shapes}.")
        return
    for key in select:
        if key not in selectors:
            yield MappingProblem(
                f"select.{key}", "unknown_key", f"Unknown key {key!r} in select (allowed: {', '.join(selectors)})."
            )
    chosen = [key for key in selectors if key in select]
    if len(chosen) > 1:
        several = ", not both." if len(chosen) == 2 else ", only one of them."
        yield MappingProblem("select", "bad_select", "select takes a " + " or a ".join(chosen) + several)
    for key in chosen:
        if not selectors[key].valid(select[key]):
            message = selectors[key].invalid.format(value=repr(select[key]))
            yield MappingProblem(f"select.{key}", "bad_select", message)


def _inbound_problems(target: Any, raw: Any, all_targets: list[str], ctx: _Context) -> Iterator[MappingProblem]:
    where = f"inbound.{target}"
    yield from _target_problems(where, target, all_targets, ctx)
    if isinstance(raw, str):
        yield from _source_problems(where, raw, ctx)
    elif not isinstance(raw, Mapping):
        yield MappingProblem(
            where, "bad_rule", "A rule is a source path or an object with from, type, map, default, ..."
        )
    else:
        target_type = ctx.targets.get(target) if ctx.targets is not None and isinstance(target, str) else None
        yield from _rule_problems(where, target, raw, target_type, ctx)


def _target_problems(where: str, target: Any, all_targets: list[str], ctx: _Context) -> Iterator[MappingProblem]:
    malformed = not isinstance(target, str) or not _TARGET.fullmatch(target)
    if malformed and ctx.targets is None:
        yield MappingProblem(where, "bad_target", f"{target!r} is not a governance field path (lowercase, dotted).")
    if ctx.targets is not None and not (isinstance(target, str) and target in ctx.targets):
        yield MappingProblem(
            where, "unknown_target", f"{target!r} is not a governance field." + _suggest(str(target), ctx.targets)
        )
    if isinstance(target, str):
        for other in all_targets:
            if other.startswith(target + "."):
                yield MappingProblem(
                    where,
                    "conflicting_target",
                    f"{target!r} and {other!r} cannot both be mapped: one contains the other.",
                )
                break


def _rule_problems(
    where: str, target: Any, raw: Mapping[Any, Any], target_type: str | None, ctx: _Context
) -> Iterator[MappingProblem]:
    for key in raw:
        if key not in RULE_KEYS:
            yield MappingProblem(
                where,
                "unknown_transform",
                f"Unknown key {key!r} in the rule (allowed: {', '.join(RULE_KEYS)})." + _suggest(str(key), RULE_KEYS),
            )
    source = raw.get("from")
    if source is None:
        if raw.get("default") is None:
            yield MappingProblem(
                where, "missing_from", "The rule needs a source path in 'from' (or a constant 'default')."
            )
    elif not isinstance(source, str):
        yield MappingProblem(where, "bad_path", f"'from' must be a source path, not {source!r}.")
    else:
        yield from _source_problems(where, source, ctx)
    yield from _type_problems(where, target, raw.get("type"), target_type)
    yield from _option_problems(where, target, raw, target_type)
    element_type = _element_type(raw.get("type"), target_type)
    value_map = raw.get("map")
    if "map" in raw:
        if not isinstance(value_map, Mapping):
            yield MappingProblem(where, "bad_map", "map must be an object of source value: governance value.")
        elif not value_map:
            yield MappingProblem(where, "empty_map", "map is empty; list the source values to map, or remove it.")
        else:
            yield from _map_problems(where, target, value_map, element_type, ctx)
    default = raw.get("default")
    if default is not None:
        yield from _default_problems(where, target, default, target_type, element_type, ctx)


def _type_problems(where: str, target: Any, rule_type: Any, target_type: str | None) -> Iterator[MappingProblem]:
    if rule_type is None:
        return
    if rule_type not in RULE_TYPES:
        yield MappingProblem(
            where,
            "unknown_type",
            f"Unknown type {rule_type!r} (allowed: {', '.join(RULE_TYPES)})." + _suggest(str(rule_type), RULE_TYPES),
        )
    elif target_type in COMPATIBLE_TYPES and rule_type not in COMPATIBLE_TYPES[target_type]:
        yield MappingProblem(
            where, "type_mismatch", f"type {rule_type!r} does not fit {target!r}, which holds {target_type} values."
        )


def _option_problems(
    where: str, target: Any, raw: Mapping[Any, Any], target_type: str | None
) -> Iterator[MappingProblem]:
    for option in ("strict", "trim"):
        if option in raw and not isinstance(raw[option], bool):
            yield MappingProblem(where, "bad_option", f"{option} must be true or false, not {raw[option]!r}.")
    case = raw.get("case")
    if case is not None and case not in CASES:
        yield MappingProblem(where, "unknown_transform", f"Unknown case {case!r} (allowed: {', '.join(CASES)}).")
    split = raw.get("split")
    if "split" in raw:
        if not isinstance(split, str) or not split:
            yield MappingProblem(where, "bad_split", f"split must be a separator such as ';', not {split!r}.")
        elif target_type is not None and target_type != "list":
            yield MappingProblem(
                where, "bad_split", f"split makes a list, but {target!r} holds {target_type} values; remove split."
            )


def _element_type(rule_type: Any, target_type: str | None) -> str | None:
    """The type each value (each list element, for list targets) is coerced to."""
    if isinstance(rule_type, str) and rule_type in RULE_TYPES:
        return rule_type
    if target_type == "list":
        return "string"
    return target_type


def _map_problems(
    where: str, target: Any, value_map: Mapping[Any, Any], element_type: str | None, ctx: _Context
) -> Iterator[MappingProblem]:
    allowed = ctx.enums.get(target) if ctx.enums is not None and isinstance(target, str) else None
    for key, value in value_map.items():
        if key is None or not isinstance(key, _SCALARS):
            yield MappingProblem(
                where,
                "bad_map",
                f"map keys are source values (text or numbers), not {key!r}; use default for null.",
            )
        if not isinstance(value, _SCALARS):
            yield MappingProblem(where, "bad_map", f"map value for {key!r} must be a single value, not {value!r}.")
            continue
        problem = _coercion_problem(value, element_type)
        if problem:
            yield MappingProblem(where, "bad_map", f"map value for {key!r}: {problem}")
        elif allowed is not None and value not in allowed:
            yield MappingProblem(
                where,
                "unknown_enum_value",
                f"map value {value!r} for {key!r} is not one of {', '.join(map(str, allowed))}.",
            )


def _default_problems(
    where: str, target: Any, default: Any, target_type: str | None, element_type: str | None, ctx: _Context
) -> Iterator[MappingProblem]:
    values = default if isinstance(default, list) else [default]
    if isinstance(default, list) and target_type not in (None, "list"):
        yield MappingProblem(where, "bad_default", f"default is a list, but {target!r} holds one {target_type}.")
        return
    for value in values:
        if not isinstance(value, _SCALARS):
            yield MappingProblem(where, "bad_default", f"default must be a value or a list of values, not {value!r}.")
            return
        problem = _coercion_problem(value, element_type)
        if problem:
            yield MappingProblem(where, "bad_default", f"default {value!r}: {problem}")
            return
    allowed = ctx.enums.get(target) if ctx.enums is not None and isinstance(target, str) else None
    if allowed is not None and not isinstance(default, list) and default not in allowed:
        yield MappingProblem(
            where, "unknown_enum_value", f"default {default!r} is not one of {', '.join(map(str, allowed))}."
        )


def _coercion_problem(value: Any, element_type: str | None) -> str | None:
    coerce = COERCIONS.get(element_type or "")
    if coerce is None:
        return None
    try:
        coerce(value)
    except InvalidValue as exc:
        return str(exc)
    return None


def _source_problems(where: str, path: str, ctx: _Context) -> Iterator[MappingProblem]:
    problem = path_problem(path)
    if problem:
        yield MappingProblem(where, "bad_path", problem)
        return
    yield from _placeholder_problems(where, path, ctx)
    dialect = ctx.dialect
    if dialect is None:
        return
    resolved = ctx.resolve(path)
    syntax = _path_syntax_problem(dialect, path, resolved.split("."))
    if syntax is not None:
        yield MappingProblem(where, "bad_path", syntax)
    elif ctx.known_sources is not None and not placeholders_in(resolved):
        yield from _unknown_source(dialect, where, resolved, ctx)


def _path_syntax_problem(dialect: SourceDialect, path: str, segments: list[str]) -> str | None:
    """Why a (placeholder-filled) source path cannot be one of this source's, or None."""
    if dialect.field_name is not None:
        bad = [s for s in segments if not placeholders_in(s) and not dialect.field_name.fullmatch(s)]
        if bad:
            return f"{bad[0]!r} in {path!r} is not a {dialect.label} field or relationship name."
    custom_id_ok = len(segments) == 2 and (segments[1].isdigit() or bool(placeholders_in(segments[1])))
    if segments[0] in dialect.custom_field_segments and not custom_id_ok:
        return (
            f"{dialect.label} custom fields are read as {dialect.custom_field_segments[0]}.<field id> (a number), "
            f"not {path!r}."
        )
    return None


def _unknown_source(dialect: SourceDialect, where: str, path: str, ctx: _Context) -> Iterator[MappingProblem]:
    known = ctx.known_sources or set()
    first, _, rest = path.partition(".")
    lowered = first.lower()
    if first in dialect.custom_field_segments and rest:
        if rest not in known and f"{dialect.custom_field_segments[0]}.{rest}" not in known:
            yield MappingProblem(where, "unknown_source_field", _no_custom_field(dialect, rest, listed=True))
        return
    if first in dialect.record_attributes or lowered in known:
        return
    if any(str(name).lower() in known for name in dialect.references(lowered, bool(rest))):
        return
    yield MappingProblem(
        where,
        "unknown_source_field",
        f"{first!r} is not a field{' or relationship' if rest else ''} of the {dialect.label} {dialect.record_noun} "
        f"(per {dialect.field_list})."
        + _suggest(first, dialect.record_attributes | set(map(str, ctx.source_fields or ()))),
    )


def _no_custom_field(dialect: SourceDialect, field_id: str, listed: bool) -> str:
    where = f" (per {dialect.field_list})" if listed else ""
    return f"{dialect.label} has no {dialect.record_noun} field with id {field_id}{where}."


def _placeholder_problems(where: str, path: str, ctx: _Context) -> Iterator[MappingProblem]:
    if not ctx.check_placeholders:
        return
    label = ctx.dialect.label if ctx.dialect is not None else "source"
    for name in placeholders_in(path):
        if ctx.placeholders is None or name not in ctx.placeholders:
            yield MappingProblem(
                where,
                "unresolved_placeholder",
                f"Placeholder {{{name}}} has no value: create the {label} field (connector setup) or set "
                f"{name!r} to the field id.",
            )


def _outbound_problems(outbound: Mapping[Any, Any], ctx: _Context) -> Iterator[MappingProblem]:
    seen: dict[str, str] = {}
    for key, path in outbound.items():
        where = f"outbound.{key}"
        yield from _outbound_path_problems(where, path, ctx)
        if not isinstance(key, str):
            yield MappingProblem(where, "bad_outbound_field", f"{key!r} is not a source field name.")
            continue
        dialect = ctx.dialect
        if dialect is not None and not dialect.outbound_key.fullmatch(key):
            yield MappingProblem(where, "bad_outbound_field", dialect.outbound_key_rule.format(key=repr(key)))
            continue
        yield from _placeholder_problems(where, key, ctx)
        resolved = ctx.resolve(key)
        if resolved in seen:
            yield MappingProblem(
                where, "duplicate_outbound_field", f"{key!r} writes the same source field as {seen[resolved]!r}."
            )
        seen.setdefault(resolved, key)
        if dialect is not None and ctx.known_sources is not None and not placeholders_in(resolved):
            yield from _unknown_outbound(dialect, where, resolved, ctx)


def _outbound_path_problems(where: str, path: Any, ctx: _Context) -> Iterator[MappingProblem]:
    if not isinstance(path, str):
        yield MappingProblem(where, "bad_rule", f"An outbound rule is a governance path, not {path!r}.")
    elif ctx.outbound_paths is not None and path not in ctx.outbound_paths:
        yield MappingProblem(
            where,
            "unknown_outbound_path",
            f"{path!r} is not a governance value that can be written back (allowed: "
            f"{', '.join(ctx.outbound_paths)})." + _suggest(path, ctx.outbound_paths),
        )


def _unknown_outbound(dialect: SourceDialect, where: str, key: str, ctx: _Context) -> Iterator[MappingProblem]:
    known = ctx.known_sources or set()
    first, _, field_id = key.partition(".")
    if first in dialect.custom_field_segments:
        if field_id not in known and key not in known:
            yield MappingProblem(where, "unknown_source_field", _no_custom_field(dialect, field_id, listed=False))
    elif key.lower() not in known:
        yield MappingProblem(
            where,
            "unknown_source_field",
            f"{key!r} is not a field of the {dialect.label} {dialect.record_noun} (per {dialect.field_list})."
            + _suggest(key, list(map(str, ctx.source_fields or ()))),
        )
