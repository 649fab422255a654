"""Where a dotted path (``inbound.customer.name``, ``risk.bands``) sits in a YAML text, to point at the line.

Errors name fields by dotted path; people read YAML by line. Keys may themselves contain dots (mapping targets
such as ``customer.name``), so at each level the longest key that prefixes the rest of the path wins.
"""

from __future__ import annotations

import yaml


def _walk(node: yaml.Node, parts: list[str]) -> int | None:
    line = node.start_mark.line + 1
    if not parts:
        return line
    if isinstance(node, yaml.MappingNode):
        keys = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
        for size in range(len(parts), 0, -1):
            wanted = ".".join(parts[:size])
            for key, value in keys:
                if str(key.value) == wanted:
                    if size == len(parts):
                        return key.start_mark.line + 1
                    found = _walk(value, parts[size:])
                    return found if found is not None else key.start_mark.line + 1
        return None
    if isinstance(node, yaml.SequenceNode) and parts[0].isdigit():
        index = int(parts[0])
        if index < len(node.value):
            return _walk(node.value[index], parts[1:]) or line
    return None


def line_of(text: str, path: str) -> int | None:
    """1-based line of ``path`` in ``text``; None when the text does not parse or has no such key."""
    try:
        root = yaml.compose(text)
    except (yaml.YAMLError, RecursionError):  # a document nested past PyYAML's recursion: no line to show
        return None
    if root is None or not path:
        return None
    return _walk(root, path.split("."))
