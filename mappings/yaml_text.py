"""Admin-written YAML (mappings, the policy) checked before PyYAML builds its values.

An anchor used inside itself (``a: &a [*a]``) makes a value that contains itself: every walker over it recurses
until it fails. A few lines of nested aliases ("billion laughs") expand to more values than memory holds. Both
are found on the composed node graph, where each anchor is one node, so the check costs what the text costs.
Anchors used sensibly (and the ``&id001`` that ``yaml.safe_dump`` writes for shared values) pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

#: What loading YAML can raise: syntax errors, and the plain errors PyYAML's constructors let through for a value
#: it cannot build (``2024-02-30``, ``!!int 0x``, ``!!float abc``, a year past 9999).
LOAD_ERRORS: tuple[type[Exception], ...] = (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError,
                                            RecursionError)
#: Far deeper than any mapping, policy or source record; keeps recursive walkers away from the interpreter's limit.
MAX_DEPTH = 64
#: How many values aliases (``*name``) may add to a document beyond what is written out.
MAX_ALIAS_VALUES = 10_000


@dataclass(frozen=True)
class YamlProblem:
    """Why a document cannot be read safely: ``yaml_alias_loop``, ``yaml_alias_expansion`` or ``yaml_too_deep``."""

    code: str
    message: str


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def unsafe_yaml(text: str) -> YamlProblem | None:
    """The problem that makes ``text`` unsafe to load, or None. Syntax errors are not problems here: the caller's
    loader reports them with its own words."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    except RecursionError:
        return _too_deep()
    if root is None:
        return None
    cap = len(text) + MAX_ALIAS_VALUES + 1  # a written value takes at least a character: bounds the sums
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    written = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # iterative post-order walk: sizes and depths computed once per node, however often aliased
        node, finished = stack.pop()
        key, children = id(node), _children(node)
        if finished:
            open_nodes.discard(key)
            size[key] = min(cap, 1 + sum(size[id(c)] for c in children))
            nested = 0 if isinstance(node, yaml.ScalarNode) else 1
            depth[key] = nested + max((depth[id(c)] for c in children), default=0)
            continue
        if key in size:
            continue
        if key in open_nodes:  # reached again while still inside it: an alias to its own anchor
            mark = node.start_mark
            return YamlProblem("yaml_alias_loop", f"The YAML anchor at line {mark.line + 1}, column "
                               f"{mark.column + 1} is used inside itself (a loop no document can hold); write the "
                               "values out instead of &anchor/*alias.")
        open_nodes.add(key)
        written += 1
        stack.append((node, True))
        stack.extend((child, False) for child in children)
    if depth[id(root)] > MAX_DEPTH:
        return _too_deep()
    if size[id(root)] > written + MAX_ALIAS_VALUES:
        return YamlProblem("yaml_alias_expansion", f"YAML aliases (*name) expand this document by more than "
                           f"{MAX_ALIAS_VALUES} values; write the values out, or use fewer aliases.")
    return None


def yaml_error(exc: BaseException, what: str, language: str = "YAML") -> str:
    """Why ``what`` (``The policy``, ``The mapping``) cannot be read, in one sentence with the line and column:
    ``The policy is not valid YAML at line 2, column 5: mapping values are not allowed here.`` PyYAML's own text
    names its input ``"<unicode string>"`` and quotes the source with a caret; only its reason is kept."""
    if isinstance(exc, RecursionError):
        return _too_deep().message
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    if isinstance(exc, yaml.YAMLError):
        reason = getattr(exc, "problem", None) or "the text cannot be read as YAML"
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark is not None and context_mark is not mark:
            reason += f" ({context} from line {context_mark.line + 1}, column {context_mark.column + 1})"
    else:  # a value PyYAML parsed but could not build: 2024-02-30, !!int 0x, a year past 9999
        reason = f"a value cannot be read ({exc})"
    return f"{what} is not valid {language}{where}: {reason.rstrip('.')}."


def _too_deep() -> YamlProblem:
    return YamlProblem("yaml_too_deep", f"The document nests more than {MAX_DEPTH} levels deep; send a flatter one.")
