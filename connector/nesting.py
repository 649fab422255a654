"""How deep a document nests: the API's body check and the UI's pasted source record refuse the same depth, far
beyond any real document, so that no recursive walker over it nears the interpreter's limit."""

from __future__ import annotations

from typing import Any

from mappings.yaml_text import MAX_DEPTH

__all__ = ["MAX_DEPTH", "deep_path"]


def deep_path(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """The dotted path of the first object or list nested deeper than ``limit``, or None.

    Iterative, so it never hits the recursion limit itself.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.items()
        elif isinstance(item, list):
            children = enumerate(item)
        else:
            continue
        if depth > limit:
            return path or "(body)"
        stack.extend((child, f"{path}.{key}" if path else str(key), depth + 1) for key, child in children)
    return None
