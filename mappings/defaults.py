"""The default mappings shipped with the package, and what Zendesk setup must create for its placeholders."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Final

from mappings.document import MappingDocument
from mappings.loading import load_mapping

#: The source kinds a default mapping ships for (`mappings/<kind>.yaml`).
DEFAULT_MAPPINGS: Final[tuple[str, ...]] = ("salesforce", "zendesk")


def _options(prefix: str, labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": label, "value": f"{prefix}{value}"} for value, label in labels.items()]


_CATEGORIES: Final = {
    "seat_expansion": "Seat expansion",
    "deployment_scope": "Deployment scope",
    "term_extension": "Term extension",
    "usage_rights": "Usage rights",
    "geographic_scope": "Geographic scope",
    "feature_access": "Feature access",
    "pricing_deviation": "Pricing deviation",
    "other": "Other",
}
_SENSITIVITY: Final = {
    "public": "Public",
    "internal": "Internal",
    "confidential": "Confidential",
    "regulated": "Regulated",
}
_REGIONS: Final = {"amer": "AMER", "emea": "EMEA", "apac": "APAC", "latam": "LATAM"}

#: The Zendesk custom ticket fields behind the placeholders of the default Zendesk mapping: placeholder
#: name -> field `type` (Zendesk ticket field types), `title`, `description`, `direction` (`inbound` fields
#: are filled by agents, `outbound` ones written by the connector) and, for dropdown/multiselect fields,
#: `options` as `{"name", "value"}` pairs (the API's `custom_field_options`). Option values are the tags the
#: mapping's value maps expect. Setup creates each field, then fills the placeholder with the field's id.
ZENDESK_PLACEHOLDER_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "category": {
        "type": "tagger",
        "title": "License exception category",
        "description": "What kind of exception the customer asks for.",
        "direction": "inbound",
        "options": _options("lec_category_", _CATEGORIES),
    },
    "requested_seats": {
        "type": "integer",
        "title": "Requested seats",
        "description": "Total seats the customer asks for.",
        "direction": "inbound",
    },
    "baseline_seats": {
        "type": "integer",
        "title": "Current licensed seats",
        "description": "Seats in the customer's current license.",
        "direction": "inbound",
    },
    "revenue_impact": {
        "type": "decimal",
        "title": "Revenue impact",
        "description": "Expected revenue effect of the exception.",
        "direction": "inbound",
    },
    "currency": {
        "type": "text",
        "title": "Revenue impact currency",
        "description": "ISO 4217 code, e.g. USD (USD when empty).",
        "direction": "inbound",
    },
    "data_sensitivity": {
        "type": "tagger",
        "title": "Data sensitivity",
        "description": "The most sensitive data the requested use touches.",
        "direction": "inbound",
        "options": _options("lec_sensitivity_", _SENSITIVITY),
    },
    "requested_regions": {
        "type": "multiselect",
        "title": "Requested regions",
        "description": "Regions the customer wants to deploy in.",
        "direction": "inbound",
        "options": _options("lec_region_", _REGIONS),
    },
    "requested_start": {
        "type": "date",
        "title": "Requested start date",
        "description": "When the exception should start.",
        "direction": "inbound",
    },
    "requested_end": {
        "type": "date",
        "title": "Requested end date",
        "description": "When the exception should end.",
        "direction": "inbound",
    },
    "justification": {
        "type": "textarea",
        "title": "Business justification",
        "description": "Why the exception is worth granting.",
        "direction": "inbound",
    },
    "user_base": {
        "type": "integer",
        "title": "Number of end users",
        "description": "How many people will use the product under the exception.",
        "direction": "inbound",
    },
    "governance_key": {
        "type": "text",
        "title": "Governance key",
        "description": "The request's key in the License Exception Connector (written by the connector).",
        "direction": "outbound",
    },
    "governance_status": {
        "type": "text",
        "title": "Governance status",
        "description": "The request's state (written by the connector).",
        "direction": "outbound",
    },
    "decision": {
        "type": "text",
        "title": "Governance decision",
        "description": "The committee's decision (written by the connector).",
        "direction": "outbound",
    },
    "entitlement_expires": {
        "type": "date",
        "title": "Exception expires",
        "description": "When the granted exception ends (written by the connector).",
        "direction": "outbound",
    },
}


def default_mapping_text(kind: str) -> str:
    """The shipped YAML for a source kind (`salesforce` or `zendesk`), comments included."""
    return _text(kind)


@cache
def _text(kind: str) -> str:
    if kind not in DEFAULT_MAPPINGS:
        raise ValueError(f"No default mapping for {kind!r}; kinds are {', '.join(DEFAULT_MAPPINGS)}.")
    return resources.files("mappings").joinpath(f"{kind}.yaml").read_text(encoding="utf-8")


def default_mapping(kind: str) -> MappingDocument:
    """The shipped mapping for a source kind, as a fresh document."""
    return load_mapping(default_mapping_text(kind))
