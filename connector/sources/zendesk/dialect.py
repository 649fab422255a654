"""What a Zendesk ticket looks like to a mapping: its attributes, custom fields read by id (``custom_fields.<id>``,
or a ``{placeholder}`` provisioning fills), write-back keys, and the tag or ticket form a mapping may select."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Final

from mappings import ZENDESK_PLACEHOLDER_FIELDS
from mappings.dialect import Selector, SourceDialect

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
