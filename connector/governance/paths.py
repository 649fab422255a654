"""Dotted governance paths (``customer.name``) over nested dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def get_path(data: Mapping[str, Any] | None, path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
        if node is None:
            return None
    return node


def is_blank(value: Any) -> bool:
    """Empty strings, lists and objects count as missing, as do objects whose values are all blank."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, set)):
        return len(value) == 0
    if isinstance(value, Mapping):
        return all(is_blank(v) for v in value.values())
    return False


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dicts as ``{"dotted.path": [messages]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix or "_schema"
            for sub_path, msgs in flatten_errors(value, path).items():
                out.setdefault(sub_path, []).extend(msgs)
    elif isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            out[prefix or "_schema"] = list(messages)
        else:
            for item in messages:
                for sub_path, msgs in flatten_errors(item, prefix).items():
                    out.setdefault(sub_path, []).extend(msgs)
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out
