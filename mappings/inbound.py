"""Inbound mapping: a source record -> governance fields (nested) and field-level errors.

This runs once per synced record, so a document is compiled once: each rule's reader, trim, case, value
map, coercion and default are bound in advance into a transform, and the rules become one generated function
(see InboundProgram); applying a mapping does no parsing, regex or per-record allocation beyond the result.
Applying never raises: a value that cannot be mapped becomes an error on its governance field, so the record
is kept as a `needs_info` request instead of being dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from mappings.document import InboundRule, MappingDocument, map_key
from mappings.paths import PLACEHOLDER, Reader, compile_reader, element_by_id, path_problem, step
from mappings.transforms import (
    CASE_FUNCTIONS,
    COERCIONS,
    DEFAULT_LIST_SEPARATOR,
    InvalidValue,
    describe,
    to_plain,
    to_text,
)

#: Start of the message recorded when a rule fails in a way the coercions did not anticipate.
UNEXPECTED_FAILURE: Final[str] = "Could not map this value"

_NOT_FOUND: Final = object()
_MAX_PROGRAMS: Final[int] = 8


@dataclass(slots=True)
class InboundResult:
    """Mapped governance fields (nested, as the request schema has them) and errors by dotted path."""

    fields: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def get(self, path: str, default: Any = None) -> Any:
        """A mapped value by dotted governance path (`customer.name`)."""
        value: Any = self.fields
        for segment in path.split("."):
            if not isinstance(value, dict) or segment not in value:
                return default
            value = value[segment]
        return value

    def flat(self) -> dict[str, Any]:
        """Mapped values by dotted governance path, for previews and diffs."""
        out: dict[str, Any] = {}
        stack: list[tuple[str, Any]] = [("", self.fields)]
        while stack:
            prefix, node = stack.pop()
            for key, value in node.items():
                path = f"{prefix}{key}"
                if isinstance(value, dict):
                    stack.append((path + ".", value))
                else:
                    out[path] = value
        return dict(sorted(out.items()))


class _Unusable:
    """A map value that does not fit the target: reported when a record hits it (validation may be skipped)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _prepare(value: Any, coerce: Callable[[Any], Any], label: str = "default") -> tuple[Any, str | None]:
    """A default or map value coerced in advance: (value, None) or (None, why it does not fit)."""
    try:
        return coerce(value), None
    except InvalidValue as exc:
        return None, f"{label} does not fit this field: {exc}"
    except Exception:
        return None, f"{label} does not fit this field."


class _ValueMap:
    """A rule's value map, with governance values coerced in advance and case-insensitive fallback."""

    __slots__ = ("exact", "folded", "known")

    def __init__(self, value_map: Mapping[str, Any], coerce: Callable[[Any], Any]) -> None:
        self.exact: dict[str, Any] = {}
        for key, value in value_map.items():
            prepared, problem = _prepare(value, coerce, f"map value for {key!r}")
            self.exact[key] = _Unusable(problem) if problem else prepared
        self.folded: dict[str, Any] = {}
        for key, value in self.exact.items():
            self.folded.setdefault(key.casefold(), value)
        keys = list(value_map)
        self.known = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")

    def find(self, value: Any) -> Any:
        """The governance value for a source value, or _NOT_FOUND."""
        key = value if type(value) is str else map_key(to_text(value))
        found = self.exact.get(key, _NOT_FOUND)
        if found is _NOT_FOUND:
            found = self.folded.get(key.casefold(), _NOT_FOUND)
        if type(found) is _Unusable:
            raise InvalidValue(found.message)
        return found

    def unmapped(self, value: Any) -> InvalidValue:
        return InvalidValue(f"{describe(value)} is not a value this mapping knows (known: {self.known}).")


Transform = Callable[[Any], Any]


def _scalar_transform(rule: InboundRule, coerce: Callable[[Any], Any]) -> Transform | None:
    """raw (not None) -> value, None meaning missing; None for plain text, which the program inlines."""
    trim = rule.trim is not False
    case = CASE_FUNCTIONS.get(rule.case or "")
    value_map = _ValueMap(rule.map, coerce) if rule.map else None
    if value_map is None and case is None and trim:
        return None if coerce is to_text else coerce
    strict = rule.is_strict
    has_default = rule.default is not None

    def transform(raw: Any) -> Any:
        if type(raw) is str:
            if trim:
                raw = raw.strip()
            if not raw:
                return None
            if case is not None:
                raw = case(raw)
        if value_map is not None:
            found = value_map.find(raw)
            if found is not _NOT_FOUND:
                return found
            if strict:
                raise value_map.unmapped(raw)
            if has_default:
                return None
        value = coerce(raw)
        return None if value == "" else value

    return transform


def _list_transform(rule: InboundRule, coerce: Callable[[Any], Any]) -> Transform:
    separator = rule.split or DEFAULT_LIST_SEPARATOR
    trim = rule.trim is not False
    case = CASE_FUNCTIONS.get(rule.case or "")
    value_map = _ValueMap(rule.map, coerce) if rule.map else None
    strict = rule.is_strict

    def each(parts: Any) -> list[Any] | None:
        out: list[Any] = []
        for part in parts:
            if part is None:
                continue
            if type(part) is str:
                if trim:
                    part = part.strip()
                if not part:
                    continue
                if case is not None:
                    part = case(part)
            if value_map is not None:
                value = value_map.find(part)
                if value is _NOT_FOUND:
                    if strict:
                        raise value_map.unmapped(part)
                    value = coerce(part)
            else:
                value = coerce(part)
            if value is not None and value != "" and value not in out:
                out.append(value)
        return out or None

    def transform(raw: Any) -> Any:
        kind = type(raw)
        if kind is str:
            return each(raw.split(separator))
        if kind is list or kind is tuple:
            return each(raw)
        if kind is dict:
            raise InvalidValue(f"Expected a list of values, got {describe(raw)}.")
        return each((raw,))

    if value_map is not None or case is not None or not trim or coerce is not to_text:
        return transform

    def text_list(raw: Any) -> Any:
        if type(raw) is not str:
            return transform(raw)
        if separator not in raw:
            raw = raw.strip()
            return [raw] if raw else None
        parts = raw.split(separator)
        if " " not in raw and raw.isprintable() and "" not in parts:  # nothing to trim or drop
            if len(parts) == 2:
                return parts if parts[0] != parts[1] else parts[:1]
            return list(dict.fromkeys(parts))
        return each(parts)

    return text_list


#: A compiled rule: leaf (target within its group), target, source (for messages), inline keys for
#: one/two-segment paths (else a reader), whether the second key is an element id (`custom_fields.<id>`),
#: transform (None: plain text), default and the reason the default is unusable (if it is).
_Compiled = tuple[
    str, str, str, str | None, str | None, bool, Reader | None, Transform | None, Any, str | None
]  # fmt: skip


def _compile(leaf: str, target: str, rule: InboundRule, target_type: str | None) -> _Compiled:
    is_list = target_type == "list"
    element_type = rule.type or ("string" if is_list else target_type)
    coerce = COERCIONS.get(element_type or "", to_plain)
    transform = _list_transform(rule, coerce) if is_list else _scalar_transform(rule, coerce)
    default: Any = None
    bad_default: str | None = None
    if rule.default is not None:
        if is_list:
            values = rule.default if isinstance(rule.default, list) else [rule.default]
            prepared = [_prepare(value, coerce) for value in values]
            problems = [problem for _, problem in prepared if problem]
            bad_default = problems[0] if problems else None
            default = None if problems else [value for value, _ in prepared if value is not None] or None
        else:
            default, bad_default = _prepare(rule.default, coerce)
    key1 = key2 = None
    reader: Reader | None = None
    source = rule.source
    segments = source.split(".") if source else []
    inline = (
        source
        and not PLACEHOLDER.search(source)
        and path_problem(source) is None
        and len(segments) <= 2
        and not any(segment.isdigit() for segment in segments)
    )
    by_id = bool(
        source
        and not PLACEHOLDER.search(source)
        and path_problem(source) is None
        and len(segments) == 2
        and not segments[0].isdigit()
        and segments[1].isdigit()
    )
    if inline or by_id:
        key1 = segments[0]
        key2 = segments[1] if len(segments) == 2 else None
    else:
        reader = compile_reader(source)
    return (leaf, target, source or "default", key1, key2, by_id, reader, transform, default, bad_default)


class InboundProgram:
    """A mapping document compiled against a governance catalogue; call it with a source record.

    The rules become one generated Python function with a straight-line block per rule, which maps a record
    about a third faster than interpreting the rule tuples in a loop (sync maps every record of a backfill).
    The generated text holds no document content: every path, target, transform and default reaches it as
    a bound constant (`K3`, `T3`, ...), so a mapping cannot inject code. Rules are grouped by the first
    segment of their target (`customer.name` -> `customer`) so each nested object is built once.
    """

    __slots__ = ("_run", "source")

    def __init__(self, doc: MappingDocument, targets: Mapping[str, str]) -> None:
        groups: dict[str | None, list[_Compiled]] = {None: []}
        for target, rule in doc.inbound.items():
            group, _, leaf = target.partition(".")
            key = group if leaf else None
            groups.setdefault(key, []).append(_compile(leaf or target, target, rule, targets.get(target)))
        self.source, self._run = _generate(groups)

    def __call__(self, record: Mapping[str, Any]) -> InboundResult:
        result: InboundResult = self._run(record)
        return result


def _unexpected(exc: Exception) -> str:
    return f"{UNEXPECTED_FAILURE} ({type(exc).__name__})."


def _generate(
    groups: Mapping[str | None, list[_Compiled]],
) -> tuple[str, Callable[[Mapping[str, Any]], InboundResult]]:
    """Source text and function applying the compiled rules; see InboundProgram."""
    constants: dict[str, Any] = {
        "InboundResult": InboundResult,
        "InvalidValue": InvalidValue,
        "Mapping": Mapping,
        "to_text": to_text,
        "step": step,
        "element": element_by_id,
        "unexpected": _unexpected,
        "nest": _nest,
    }
    lines = [
        "def apply(record):",
        "    if type(record) is not dict and not isinstance(record, Mapping):",
        "        record = {}",
        "    fields = {}",
        "    errors = {}",
        "    indexed = {}",
        "    get = record.get",
    ]
    index = 0
    for group_index, (group, rules) in enumerate(groups.items()):
        node = "fields" if group is None else "node"
        if group is not None:
            lines.append("    node = {}")
        for leaf, target, source, key1, key2, by_id, reader, transform, default, bad_default in rules:
            i = index
            index += 1
            constants.update(
                {f"L{i}": leaf, f"G{i}": target, f"S{i}": f"{source}: ", f"D{i}": default, f"B{i}": bad_default}
            )
            lines.append("    try:")
            if key1 is not None:
                constants[f"K{i}"] = key1
                lines.append(f"        raw = get(K{i})")
                if key2 is not None and by_id:
                    constants[f"J{i}"] = key2
                    lines.append("        if raw is not None:")
                    lines.append(f"            raw = element(raw, J{i}, K{i}, indexed)")
                elif key2 is not None:
                    constants[f"J{i}"] = key2
                    lines.append("        if raw is not None:")
                    lines.append(f"            raw = raw.get(J{i}) if type(raw) is dict else step(raw, J{i}, None)")
            elif reader is not None:
                constants[f"R{i}"] = reader
                lines.append(f"        raw = R{i}(record)")
            else:
                lines.append("        raw = None")
            if default is None and bad_default is None:  # the common rule: nothing to fall back on
                lines.append("        if raw is not None:")
                if transform is None:
                    lines.append("            value = raw.strip() if type(raw) is str else to_text(raw)")
                    lines.append("            if value:")
                else:
                    constants[f"T{i}"] = transform
                    lines.append(f"            value = T{i}(raw)")
                    lines.append("            if value is not None:")
                lines.append(f"                {node}[L{i}] = value")
            else:
                lines.append("        if raw is None:")
                lines.append(f"            value = D{i}")
                if transform is None:
                    lines.append("        else:")
                    lines.append(f"            value = (raw.strip() if type(raw) is str else to_text(raw)) or D{i}")
                else:
                    constants[f"T{i}"] = transform
                    lines.append("        else:")
                    lines.append(f"            value = T{i}(raw)")
                    lines.append("            if value is None:")
                    lines.append(f"                value = D{i}")
                lines.append("        if value is not None:")
                lines.append(f"            {node}[L{i}] = value")
                if bad_default is not None:
                    lines.append("        else:")
                    lines.append(f"            raise InvalidValue(B{i})")
            lines.append("    except InvalidValue as exc:")
            lines.append(f"        errors[G{i}] = S{i} + str(exc)")
            lines.append("    except Exception as exc:")
            lines.append(f"        errors[G{i}] = S{i} + unexpected(exc)")
        if group is not None:
            deep = any("." in rule[0] for rule in rules)
            constants[f"N{group_index}"] = group
            constants[f"C{group_index}"] = f"{group!r} is mapped both as a whole and field by field; keep one."
            lines.append("    if node:")
            lines.append(f"        if N{group_index} in fields:")
            lines.append(f"            errors[N{group_index}] = C{group_index}")
            lines.append("        else:")
            value = f"nest(node, N{group_index}, errors)" if deep else "node"
            lines.append(f"            fields[N{group_index}] = {value}")
    lines.append("    return InboundResult(fields, errors)")
    text = "\n".join(lines) + "\n"
    exec(compile(text, "<mapping inbound program>", "exec"), constants)
    return text, constants["apply"]


def _nest(flat: dict[str, Any], group: str, errors: dict[str, str]) -> dict[str, Any]:
    """Leaves like `a.b` (targets three or more segments deep) become nested objects."""
    nested: dict[str, Any] = {}
    for leaf, value in flat.items():
        try:
            _set_nested(nested, tuple(leaf.split(".")), value)
        except InvalidValue as exc:
            errors[f"{group}.{leaf}"] = str(exc)
    return nested


def _set_nested(node: dict[str, Any], leaf: tuple[str, ...], value: Any) -> None:
    for segment in leaf[:-1]:
        child = node.get(segment)
        if type(child) is not dict:
            if child is not None:
                raise InvalidValue(f"{segment!r} is mapped both as a whole and field by field.")
            child = node[segment] = {}
        node = child
    node[leaf[-1]] = value


def compile_inbound(doc: MappingDocument, targets: Mapping[str, str]) -> InboundProgram:
    """Compile once, apply to many records (what sync does for each page)."""
    return InboundProgram(doc, targets)


def apply_inbound(doc: MappingDocument, record: Mapping[str, Any], targets: Mapping[str, str]) -> InboundResult:
    """Map one source record; the compiled program is cached on the (immutable) document per catalogue."""
    entry = doc.programs.get(id(targets))
    if entry is None or entry[0] is not targets:
        if len(doc.programs) >= _MAX_PROGRAMS:
            doc.programs.clear()
        entry = (targets, InboundProgram(doc, targets))
        doc.programs[id(targets)] = entry
    program: InboundProgram = entry[1]
    return program(record)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def content_hash(result: InboundResult | Mapping[str, Any]) -> str:
    """SHA-256 of the mapped fields and errors as canonical JSON: equal hashes mean an unchanged record.

    Errors are included so that a value that stays invalid but changes (`abc` -> `xyz`) counts as a change.
    """
    payload: dict[str, Any]
    if isinstance(result, InboundResult):
        payload = {"errors": result.errors, "fields": result.fields}
    else:
        payload = {"errors": {}, "fields": result}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
