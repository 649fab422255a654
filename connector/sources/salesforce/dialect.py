"""What a Salesforce record looks like to a mapping: API names, relationships read through their lookup field,
the one sObject a mapping reads, ``Id`` and ``SystemModstamp``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from mappings.dialect import SourceDialect

#: A Salesforce API name: sObjects, fields and relationships (`License_Exception_Request__c`, `Account__r`).
_API_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _salesforce_references(segment: str, followed: bool) -> Iterator[str]:
    """`Account__r.Name` reads through the lookup `Account__c`; `Owner.Name` through the standard `OwnerId`."""
    if segment.endswith("__r"):
        yield segment[:-3] + "__c"
    if followed:
        yield segment + "id"


SALESFORCE: Final = SourceDialect(
    name="salesforce",
    label="Salesforce",
    record_noun="object",
    field_list="describe",
    id_path="Id",
    modified_path="SystemModstamp",
    field_name=_API_NAME,
    references=_salesforce_references,
    outbound_key=_API_NAME,
    outbound_key_rule="{key} is not a Salesforce field API name.",
    object_name=_API_NAME,
    object_hint="the sObject to read, e.g. object: License_Exception_Request__c",
)
