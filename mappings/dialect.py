"""What the mapping engine must know about one kind of source, declared by the kind and passed in.

A mapping document names its `kind`; the connector hands validation the `SourceDialect` of the connection's
kind, so `mappings` never branches on a kind's name and a third source brings its own dialect instead of edits
here. A dialect is plain data (names, patterns and a few predicates): no connector, no HTTP, no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _no_references(segment: str, followed: bool) -> Iterable[str]:
    return ()


@dataclass(frozen=True, slots=True)
class Selector:
    """One way a mapping's `select` may choose records (Zendesk: a tag, or a ticket form id)."""

    #: what the value looks like, in the message that says how to write `select` (`<tag>`, `<id>`)
    shape: str
    #: whether a value from the document is usable
    valid: Callable[[Any], bool]
    #: why a value is not, with `{value}` for the value's repr
    invalid: str


@dataclass(frozen=True, slots=True, eq=False)
class SourceDialect:
    """How one kind of source's records look to a mapping: names, paths, ids and what a mapping may select.

    The checks it drives are the ones `mappings.validation` used to write once per kind; the fields that say how
    a record's id and modification stamp are read are for the connector's readers, so the one declaration
    serves both. A dialect is one declaration per kind, compared by identity.
    """

    #: the mapping document's `kind` (`salesforce`); a document naming another kind is refused
    name: str
    #: the source as messages name it (`Salesforce`)
    label: str
    #: what one record is called in messages (`object`, `ticket`)
    record_noun: str
    #: where the live field names come from, in messages (`describe`, `ticket fields`)
    field_list: str
    #: the path of a record's id (`Id`, `id`) and of its last-modification stamp (`SystemModstamp`, `updated_at`)
    id_path: str
    modified_path: str
    #: attributes every record has, so a source path may start with one without the live field list
    record_attributes: frozenset[str] = frozenset()
    #: custom fields the kind's setup creates for the `{placeholders}` of its default mapping: placeholder name ->
    #: the field's description (`type`, `title`, `description`, `direction`, and `options` for pick lists)
    placeholder_fields: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    #: the form of a field or relationship name; when set, every segment of a source path must have it
    field_name: re.Pattern[str] | None = None
    #: first path segments under which custom fields are read by id (`custom_fields.<id>`)
    custom_field_segments: tuple[str, ...] = ()
    #: the field names a relationship segment may stand for (`Account__r` -> `Account__c`), given whether more
    #: segments follow it: the segment passes the live-field check when one of them is known
    references: Callable[[str, bool], Iterable[str]] = _no_references
    #: the form of an outbound (write-back) key, and why a key is refused, with `{key}` for the key's repr
    outbound_key: re.Pattern[str] = re.compile(r"[^.\s{}]+")
    outbound_key_rule: str = "{key} is not a source field name."
    #: when the kind reads one object a mapping names (the Salesforce sObject): its form and a hint for the
    #: missing-object message; None when a mapping of this kind names no object
    object_name: re.Pattern[str] | None = None
    object_hint: str = ""
    #: the ways a mapping's `select` may choose records, by key; at most one is used. Empty: no `select`.
    selectors: Mapping[str, Selector] = field(default_factory=lambda: MappingProxyType({}))
