"""Values a stored document can hold: no NUL character (PostgreSQL text cannot), no unpaired surrogate (no UTF-8
encoder can: JSON's ``"\ud800"`` escape decodes to one), no integer beyond 64 bits (no column or JSON encoder can),
no NaN or Infinity (JSON has none). One walk shared by the API's body check and mapping validation."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
NUL_MESSAGE = "Text may not contain the NUL character (U+0000)."
SURROGATE_MESSAGE = ("Text may not contain an unpaired surrogate (U+D800 to U+DFFF): send valid Unicode, with a "
                     "character outside the Basic Multilingual Plane escaped as a surrogate pair.")


def text_problem(text: str) -> str | None:
    """What in ``text`` cannot be stored (a NUL, an unpaired surrogate), or None."""
    if "\x00" in text:
        return NUL_MESSAGE
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def _problem(value: Any) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value > INT64_MAX:
            return f"Must be at most {INT64_MAX}."
        if value < INT64_MIN:
            return f"Must be at least {INT64_MIN}."
    elif isinstance(value, float) and not math.isfinite(value):
        return "Must be a finite number: JSON has no NaN or Infinity, and a number this large overflows."
    return None


def unstorable(value: Any) -> Iterator[tuple[str, str]]:
    """``(dotted path, what to change)`` for every value (or key) that cannot be stored; ``(body)`` for the
    top level. Iterative, so any nesting is walked without recursion."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, Mapping):
            for key, child in item.items():
                path = f"{where}.{key}" if where else str(key)
                key_problem = text_problem(key) if isinstance(key, str) else None
                if key_problem is not None:
                    yield path, key_problem
                stack.append((child, path))
        elif isinstance(item, list):
            stack.extend((child, f"{where}.{i}" if where else str(i)) for i, child in enumerate(item))
        else:
            problem = _problem(item)
            if problem is not None:
                yield where or "(body)", problem
