"""Source paths: parsing, placeholders and compiled readers.

A source path is dotted (`Account__r.Name`, `organization.organization_fields.segment`). A segment that meets
a list of objects carrying `id` selects the element with that id and reads its `value`, which is how Zendesk's
`custom_fields.<field id>` works (`[{"id": 123, "value": ...}]`); a numeric segment on any other list indexes
it. Reading never raises: a missing key, a `null` relationship or a value of the wrong shape reads as None.

`{name}` in a path is a placeholder (the default Zendesk mapping cannot know its custom field ids); a path
that still holds one reads as None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

Reader = Callable[[Mapping[str, Any]], Any]

PLACEHOLDER: Final[re.Pattern[str]] = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SEGMENT: Final[re.Pattern[str]] = re.compile(r"[^.\s{}]+|\{[A-Za-z_][A-Za-z0-9_]*\}")


def placeholders_in(path: str) -> list[str]:
    """Placeholder names in a path or outbound key, in order."""
    return PLACEHOLDER.findall(path)


def fill(path: str, placeholders: Mapping[str, str | int]) -> str:
    """`path` with every placeholder that has a value replaced; the others stay for validation to name."""
    if "{" not in path:
        return path
    return PLACEHOLDER.sub(lambda m: str(placeholders[m.group(1)]) if m.group(1) in placeholders else m.group(0), path)


def path_problem(path: str) -> str | None:
    """Why a source path is malformed, or None when it is well formed."""
    if not path:
        return "The source path is empty."
    for segment in path.split("."):
        if not segment:
            return f"Source path {path!r} has an empty segment (check for doubled or trailing dots)."
        if not _SEGMENT.fullmatch(segment):
            return (
                f"Source path {path!r} has a malformed segment {segment!r}: segments hold no spaces or "
                "braces, and a placeholder is written as {name}."
            )
    return None


_ABSENT: Final = object()


def step(value: Any, segment: str, number: int | None) -> Any:
    """One segment of a path on any JSON-like value; the slow path behind the readers."""
    if type(value) is dict or isinstance(value, Mapping):
        found = value.get(segment)
        if found is None and number is not None:
            found = value.get(number)  # type: ignore[call-overload]
        return found
    if isinstance(value, list):
        return _step_into_list(value, segment, number)
    return None


def _step_into_list(value: list[Any], segment: str, number: int | None) -> Any:
    """The `value` of the first element whose `id` is the segment; else, in a list without ids, the element at
    the segment's index."""
    has_ids = False
    # Zendesk's ids are integers: compare them as integers when the segment is one written plainly
    as_int = number if number is not None and str(number) == segment else None
    for element in value:
        if type(element) is not dict and not isinstance(element, Mapping):
            continue
        ident = element.get("id", _ABSENT)
        if ident is _ABSENT:
            continue
        has_ids = True
        if ident == as_int if type(ident) is int else str(ident) == segment:
            return element.get("value") if "value" in element else element
    if not has_ids and number is not None and -len(value) <= number < len(value):
        return value[number]
    return None


_NO_INDEX: Final[dict[Any, Any]] = {}


def element_by_id(value: Any, segment: str, key: str, indexed: dict[str, dict[Any, Any]]) -> Any:
    """``step(value, segment)`` for a digits-only segment, with a list of id-carrying objects (Zendesk's
    ``custom_fields``) indexed once per record in ``indexed`` under ``key`` instead of scanned per field."""
    index = indexed.get(key)
    if index is None:
        index = indexed[key] = _index_by_id(value)
    if index is _NO_INDEX:
        return step(value, segment, _number(segment))
    number = _number(segment)
    as_int = index.get(number) if number is not None and str(number) == segment else None
    as_text = index.get(segment)
    if as_int is None or (as_text is not None and as_text[0] < as_int[0]):  # the earlier element wins, as in step
        as_int = as_text
    return None if as_int is None else as_int[1]


def _index_by_id(value: Any) -> dict[Any, tuple[int, Any]]:
    """Integer ids under themselves (no ``str()`` per element), others under their text; each with its position."""
    if type(value) is not list:
        return _NO_INDEX
    index: dict[Any, tuple[int, Any]] = {}
    for position, element in enumerate(value):
        if type(element) is dict or isinstance(element, Mapping):
            ident = element.get("id", _ABSENT)
            if ident is _ABSENT:
                continue
            name = ident if type(ident) is int else str(ident)
            if name not in index:  # the first element with an id wins, as in ``step``
                index[name] = (position, element.get("value") if "value" in element else element)
    return index or _NO_INDEX


def _number(segment: str) -> int | None:
    return int(segment) if segment.isdigit() and len(segment) < 19 else None


def _read_none(record: Mapping[str, Any]) -> Any:
    return None


def compile_reader(path: str | None) -> Reader:
    """A function reading `path` from a record (a Mapping); None or placeholder paths read None."""
    if not path or PLACEHOLDER.search(path) or path_problem(path):
        return _read_none
    segments = path.split(".")
    numbers = [_number(s) for s in segments]
    if len(segments) == 1:
        (key,) = segments
        key_number = numbers[0]
        if key_number is None:

            def read_one(record: Mapping[str, Any]) -> Any:
                return record.get(key)

            return read_one

        def read_one_numbered(record: Mapping[str, Any]) -> Any:
            return step(record, key, key_number)

        return read_one_numbered

    if len(segments) == 2:
        first, second = segments
        first_number, second_number = numbers

        def read_two(record: Mapping[str, Any]) -> Any:
            value = record.get(first)
            if value is None and first_number is not None:
                value = record.get(first_number)  # type: ignore[call-overload]
            if type(value) is dict and second_number is None:
                return value.get(second)
            if value is None:
                return None
            return step(value, second, second_number)

        return read_two

    steps = list(zip(segments, numbers, strict=True))

    def read_many(record: Mapping[str, Any]) -> Any:
        value: Any = record
        for segment, number in steps:
            if value is None:
                return None
            value = step(value, segment, number)
        return value

    return read_many
