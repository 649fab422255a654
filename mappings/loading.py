"""Loading a mapping document: text or data in, an immutable `MappingDocument` out, or every structural problem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappings.document import MappingDocument, document_from_data
from mappings.parsing import parse_text
from mappings.problems import MappingError
from mappings.validation import structural_problems


def load_mapping(source: str | bytes | Mapping[str, Any] | MappingDocument) -> MappingDocument:
    """Load a mapping from YAML/JSON text or its dict form.

    Refuses (MappingError, listing every problem) a document whose *structure* is wrong whatever the source: no
    kind, unknown keys, malformed rules or transforms. Whether it suits its source (object, select, path and
    write-back key syntax) needs the source's dialect, and whether targets, outbound paths, source fields and
    placeholders are known needs the catalogue and the live connection: that is `validate_mapping`.
    """
    if isinstance(source, MappingDocument):
        return source
    data = parse_text(source) if isinstance(source, str | bytes) else source
    problems = structural_problems(data)
    if problems:
        raise MappingError(problems)
    return document_from_data(data)
