"""Inbound mapping: a source record -> governance fields (nested) and field-level errors.

This runs once per synced record, so a document is compiled once: each rule's reader, trim, case, value
map, coercion and default are bound in advance into one closure (see InboundProgram); applying a mapping does
no parsing, regex or per-record allocation beyond the result. Applying never raises: a value that cannot be
mapped becomes an error on its governance field, so the record is kept as a `needs_info` request instead of
being dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from mappings.document import InboundRule, MappingDocument, map_key
from mappings.paths import PLACEHOLDER, compile_reader, element_by_id, path_problem, step
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


#: A compiled rule: (record, record.get, the record's id indexes) -> the governance value, None for nothing to
#: store; raises for the field's error.
Rule = Callable[[Mapping[str, Any], Callable[[str], Any], dict[str, dict[Any, Any]]], Any]
#: How a rule reads its raw value, with the same arguments.
Read = Rule


def _compile(rule: InboundRule, target_type: str | None) -> tuple[str | None, Transform | None, Rule | None]:
    """One rule bound: (key, transform, None) for the common rule, read inline by the program; else
    (None, None, a closure with the reading, trim, case, value map, coercion and default)."""
    is_list = target_type == "list"
    element_type = rule.type or ("string" if is_list else target_type)
    coerce = COERCIONS.get(element_type or "", to_plain)
    transform = _list_transform(rule, coerce) if is_list else _scalar_transform(rule, coerce)
    default, bad_default = _default(rule, coerce, is_list)
    keys = _inline_keys(rule.source)
    if default is None and bad_default is None and keys is not None and not keys[2]:
        if keys[1] is None:
            return keys[0], transform, None
        return None, None, _two_keys_rule(keys[0], keys[1], transform)
    return None, None, _fallback_rule(_reader(rule.source, keys), transform, default, bad_default)


def _default(rule: InboundRule, coerce: Callable[[Any], Any], is_list: bool) -> tuple[Any, str | None]:
    """The rule's default coerced in advance, and why it does not fit the field (if it does not)."""
    if rule.default is None:
        return None, None
    if not is_list:
        return _prepare(rule.default, coerce)
    values = rule.default if isinstance(rule.default, list) else [rule.default]
    prepared = [_prepare(value, coerce) for value in values]
    problems = [problem for _, problem in prepared if problem]
    if problems:
        return None, problems[0]
    return [value for value, _ in prepared if value is not None] or None, None


def _inline_keys(source: str | None) -> tuple[str, str | None, bool] | None:
    """(first key, second key, whether the second is an element id) for a one- or two-segment path read without
    a general reader (`Name`, `Account__r.Name`, `custom_fields.123`); None for any other path."""
    if not source or PLACEHOLDER.search(source) or path_problem(source) is not None:
        return None
    segments = source.split(".")
    if len(segments) > 2 or segments[0].isdigit():
        return None
    if len(segments) == 1:
        return segments[0], None, False
    return segments[0], segments[1], segments[1].isdigit()


def _reader(source: str | None, keys: tuple[str, str | None, bool] | None) -> Read:
    if keys is None:
        reader = compile_reader(source)
        return lambda record, get, indexed: reader(record)
    key, second, by_id = keys
    if second is None:
        return lambda record, get, indexed: get(key)
    if by_id:

        def read_element(record: Mapping[str, Any], get: Callable[[str], Any], indexed: dict[str, Any]) -> Any:
            raw = get(key)
            return None if raw is None else element_by_id(raw, second, key, indexed)

        return read_element

    def read_two(record: Mapping[str, Any], get: Callable[[str], Any], indexed: dict[str, Any]) -> Any:
        raw = get(key)
        if raw is None:
            return None
        return raw.get(second) if type(raw) is dict else step(raw, second, None)

    return read_two


def _two_keys_rule(key: str, second: str, transform: Transform | None) -> Rule:
    """`Account__r.Name` with nothing to fall back on: both steps and the transform in one call."""

    def rule(record: Mapping[str, Any], get: Callable[[str], Any], indexed: dict[str, Any]) -> Any:
        raw = get(key)
        if raw is None:
            return None
        raw = raw.get(second) if type(raw) is dict else step(raw, second, None)
        if raw is None:
            return None
        if transform is not None:
            return transform(raw)
        return (raw.strip() if type(raw) is str else to_text(raw)) or None

    return rule


def _fallback_rule(read: Read, transform: Transform | None, default: Any, bad_default: str | None) -> Rule:
    """Any rule: a missing or blank value takes the default; an unusable default is the field's error."""

    def rule(record: Mapping[str, Any], get: Callable[[str], Any], indexed: dict[str, Any]) -> Any:
        raw = read(record, get, indexed)
        if raw is None:
            value = default
        elif transform is None:
            value = (raw.strip() if type(raw) is str else to_text(raw)) or default
        else:
            value = transform(raw)
            if value is None:
                value = default
        if value is None and bad_default is not None:
            raise InvalidValue(bad_default)
        return value

    return rule


#: One compiled rule in its group: leaf (the target within its group), then either the key and transform (None:
#: plain text) the program reads inline, or None, None and the rule's closure.
_Bound = tuple[str, str | None, Transform | None, Rule | None]
#: One group of rules building one nested object: its name (None: the top level), the message when it is also
#: mapped as a whole, whether its leaves nest further (`a.b` within `x`), its rules, and by leaf the target and
#: the `source: ` that starts the field's error message.
_Group = tuple[str | None, str, bool, tuple[_Bound, ...], dict[str, tuple[str, str]]]


class InboundProgram:
    """A mapping document compiled against a governance catalogue; call it with a source record.

    Each rule is bound in advance: the commonest (`title: Name`, `seats: {from: Seats__c, type: integer}`)
    into its key and transform, read inline by the program's loop; any other into one closure holding its
    reader, trim, case, value map, coercion and default. Rules are grouped by the first segment of their target
    (`customer.name` -> `customer`) so each nested object is built once. No source text is generated.
    """

    __slots__ = ("_groups",)

    def __init__(self, doc: MappingDocument, targets: Mapping[str, str]) -> None:
        groups: dict[str | None, list[tuple[str, str, InboundRule]]] = {None: []}
        for target, rule in doc.inbound.items():
            group, _, leaf = target.partition(".")
            groups.setdefault(group if leaf else None, []).append((leaf or target, target, rule))
        self._groups: tuple[_Group, ...] = tuple(
            (
                group,
                f"{group!r} is mapped both as a whole and field by field; keep one.",
                any("." in leaf for leaf, _, _ in rules),
                tuple((leaf, *_compile(rule, targets.get(target))) for leaf, target, rule in rules),
                {leaf: (target, f"{rule.source or 'default'}: ") for leaf, target, rule in rules},
            )
            for group, rules in groups.items()
        )

    def __call__(self, record: Mapping[str, Any]) -> InboundResult:
        record = _as_record(record)
        fields: dict[str, Any] = {}
        errors: dict[str, str] = {}
        indexed: dict[str, dict[Any, Any]] = {}
        get = record.get
        for group, conflict, deep, rules, labels in self._groups:
            node = fields if group is None else {}
            for leaf, key, transform, rule in rules:
                try:
                    if key is None:
                        value = rule(record, get, indexed)  # type: ignore[misc]
                    else:  # the commonest rule, read inline
                        raw = get(key)
                        if raw is None:
                            continue
                        if transform is not None:
                            value = transform(raw)
                        else:
                            value = (raw.strip() if type(raw) is str else to_text(raw)) or None
                except Exception as exc:
                    _fail(errors, labels[leaf], exc)
                    continue
                if value is not None:
                    node[leaf] = value
            if group is not None and node:
                if group in fields:
                    errors[group] = conflict
                else:
                    fields[group] = _nest(node, group, errors) if deep else node
        return InboundResult(fields, errors)


def _as_record(record: Any) -> Mapping[str, Any]:
    """A record that is not an object maps as an empty one (every field missing), never as an exception."""
    return record if type(record) is dict or isinstance(record, Mapping) else {}


def _fail(errors: dict[str, str], where: tuple[str, str], exc: Exception) -> None:
    """A rule's failure as its field's error: the reason, or that it failed unexpectedly (never the exception)."""
    target, label = where
    if isinstance(exc, InvalidValue):
        errors[target] = label + str(exc)
    else:
        errors[target] = f"{label}{UNEXPECTED_FAILURE} ({type(exc).__name__})."


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
