"""Reading a mapping document's text (YAML or JSON) into plain data, every fault a `bad_syntax` problem."""

from __future__ import annotations

import json
import re
from typing import Any, Final

import yaml

from mappings.problems import MappingError, MappingProblem
from mappings.yaml_text import LOAD_ERRORS, MAX_DEPTH, unsafe_yaml, yaml_error


class _DocumentLoader(yaml.SafeLoader):
    """YAML 1.2-ish reading: only true/false are booleans (`NO` is Norway, not False), dates stay text,
    and a key written twice is an error rather than a silent overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is written twice", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


_BOOL_TAG: Final = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG: Final = "tag:yaml.org,2002:timestamp"
_DocumentLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_DocumentLoader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def parse_text(text: str | bytes) -> Any:
    """Parse a YAML or JSON mapping document; raises MappingError(`bad_syntax`) with the line at fault."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise MappingError(
                [MappingProblem("document", "bad_syntax", "The mapping document is not UTF-8 text.")]
            ) from None
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            pass
        except RecursionError:
            raise MappingError([MappingProblem("document", "yaml_too_deep", f"The document nests more than "
                                               f"{MAX_DEPTH} levels deep; send a flatter one.")]) from None
    problem = unsafe_yaml(text)
    if problem is not None:
        raise MappingError([MappingProblem("document", problem.code, problem.message)])
    try:
        return yaml.load(text, Loader=_DocumentLoader)
    except LOAD_ERRORS as exc:
        raise MappingError(
            [MappingProblem("document", "bad_syntax", yaml_error(exc, "The mapping", "YAML/JSON"))]
        ) from None
