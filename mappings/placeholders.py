"""Filling `{name}` placeholders (Zendesk custom field ids known only once the fields exist in an account)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

from mappings.document import MappingDocument
from mappings.paths import fill


def resolve_placeholders(doc: MappingDocument, placeholders: Mapping[str, str | int]) -> MappingDocument:
    """A new document with placeholders in source paths and outbound keys replaced by their values.

    Unknown placeholder names are ignored and unresolved ones stay as they are: `validate_mapping` reports
    them as `unresolved_placeholder`, and inbound rules still holding one read as missing.
    """
    inbound = {
        target: dataclasses.replace(rule, source=fill(rule.source, placeholders)) if rule.source else rule
        for target, rule in doc.inbound.items()
    }
    outbound = {fill(key, placeholders): path for key, path in doc.outbound.items()}
    return dataclasses.replace(doc, inbound=MappingProxyType(inbound), outbound=MappingProxyType(outbound))
