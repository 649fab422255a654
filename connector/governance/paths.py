"""Dotted governance paths (``customer.name``) over nested dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_PARTS: dict[str, tuple[str, ...]] = {}


def get_path(data: Mapping[str, Any] | None, path: str) -> Any:
    parts = _PARTS.get(path)
    if parts is None:
        parts = tuple(path.split("."))
        if len(_PARTS) < 4096:  # paths come from the schema and the policy: a small, fixed set
            _PARTS[path] = parts
    node: Any = data
    for part in parts:
        if type(node) is not dict and not isinstance(node, Mapping):  # the exact type first: ABC checks are slow
            return None
        node = node.get(part)
        if node is None:
            return None
    return node


def is_blank(value: Any) -> bool:
    """Empty strings, lists and objects count as missing, as do objects whose values are all blank."""
    if value is None:
        return True
    kind = type(value)
    if kind is str:
        return not value.strip()
    if kind is list or kind is tuple or kind is set:
        return len(value) == 0
    if kind is dict or isinstance(value, Mapping):
        return all(is_blank(v) for v in value.values())
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, set)):
        return len(value) == 0
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
