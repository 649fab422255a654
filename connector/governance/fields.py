"""The governance schema's field catalogue (SPEC §2.1): the mapping targets admins write.

Kept as plain data so the mapping engine can validate targets without importing the connector
(the catalogue is passed to it by the caller).
"""

from __future__ import annotations

from typing import Final

#: Terms-object keys and their types (SPEC §2.1 "terms object").
TERMS_FIELDS: Final[dict[str, str]] = {
    "seats": "integer",
    "term_end": "date",
    "environments": "list",
    "regions": "list",
    "features": "list",
    "usage_rights": "list",
    "price": "decimal",
    "other": "string",
}

#: Every governance field a mapping may target, as dotted path -> type name.
#: Types: string, text, email, integer, decimal, date, datetime, boolean, list, terms, enum.
GOVERNANCE_FIELDS: Final[dict[str, str]] = {
    "title": "string",
    "category": "enum",
    "customer.name": "string",
    "customer.account_id": "string",
    "customer.segment": "string",
    "requester.name": "string",
    "requester.email": "email",
    "requester.team": "string",
    **{f"baseline_terms.{k}": t for k, t in TERMS_FIELDS.items()},
    **{f"requested_terms.{k}": t for k, t in TERMS_FIELDS.items()},
    "use_case": "text",
    "justification": "text",
    "risk_exposure": "text",
    "adjacent_features": "list",
    "revenue_impact.amount": "decimal",
    "revenue_impact.currency": "string",
    "data_sensitivity": "enum",
    "user_base": "integer",
    "deployment_scale": "integer",
    "requested_start": "date",
    "requested_end": "date",
}

DATA_SENSITIVITY: Final[tuple[str, ...]] = ("public", "internal", "confidential", "regulated")

#: Governance paths an outbound mapping may read (SPEC §4).
OUTBOUND_PATHS: Final[tuple[str, ...]] = (
    "key",
    "state",
    "track",
    "risk.band",
    "risk.score",
    "decision.outcome",
    "decision.rationale",
    "entitlement.grants_summary",
    "entitlement.effective_from",
    "entitlement.expires_at",
    "intake.summary",
    "intake.missing_fields",
    "review.waiting",
    "url",
)
