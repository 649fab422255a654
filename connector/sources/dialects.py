"""The dialects of the built-in source kinds: what a Salesforce record and a Zendesk ticket look like to a mapping.

Each kind declares its dialect (`SourceKind.dialect`); mapping validation takes it as an argument instead of
knowing kinds by name. (Each moves into its kind's package once the kinds are packages.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any, Final

from mappings import ZENDESK_PLACEHOLDER_FIELDS
from mappings.dialect import Selector, SourceDialect

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

#: Zendesk ticket attributes (Tickets API) plus the `requester` and `organization` objects the connector
#: attaches; a Zendesk source path may start with any of them.
ZENDESK_TICKET_ATTRIBUTES: Final[frozenset[str]] = frozenset(
    {
        "id", "url", "external_id", "type", "subject", "raw_subject", "description", "priority", "status",
        "recipient", "requester_id", "submitter_id", "assignee_id", "organization_id", "group_id",
        "collaborator_ids", "follower_ids", "email_cc_ids", "forum_topic_id", "problem_id", "has_incidents",
        "is_public", "due_at", "tags", "custom_fields", "fields", "satisfaction_rating",
        "sharing_agreement_ids", "followup_ids", "ticket_form_id", "brand_id", "allow_channelback",
        "allow_attachments", "from_messaging_channel", "created_at", "updated_at", "via", "custom_status_id",
        "generated_timestamp", "requester", "organization", "submitter", "assignee",
    }
)  # fmt: skip


def _is_tag(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not any(c.isspace() for c in value)


def _is_form_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and value > 0) or (
        isinstance(value, str) and value.isdigit()
    )


ZENDESK: Final = SourceDialect(
    name="zendesk",
    label="Zendesk",
    record_noun="ticket",
    field_list="ticket fields",
    id_path="id",
    modified_path="updated_at",
    record_attributes=ZENDESK_TICKET_ATTRIBUTES,
    placeholder_fields=MappingProxyType(ZENDESK_PLACEHOLDER_FIELDS),
    custom_field_segments=("custom_fields", "fields"),
    outbound_key=re.compile(r"custom_fields\.(?:\d+|\{[A-Za-z_][A-Za-z0-9_]*\})"),
    outbound_key_rule=(
        "Zendesk write-back keys are custom_fields.<field id>, not {key}; comments, tags and status follow from "
        "the decision."
    ),
    selectors=MappingProxyType({
        "tag": Selector("<tag>", _is_tag, "A Zendesk tag is one word without spaces, not {value}."),
        "ticket_form_id": Selector("<id>", _is_form_id, "ticket_form_id must be a Zendesk form id, not {value}."),
    }),
)
