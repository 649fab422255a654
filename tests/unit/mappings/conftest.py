"""Records in the shapes the real APIs return, shared by the mapping tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from connector.governance.fields import GOVERNANCE_FIELDS, OUTBOUND_PATHS

#: Zendesk custom field ids as connector setup would have created them.
ZENDESK_FIELD_IDS: dict[str, int] = {
    "category": 360001001,
    "requested_seats": 360001002,
    "baseline_seats": 360001003,
    "revenue_impact": 360001004,
    "currency": 360001005,
    "data_sensitivity": 360001006,
    "requested_regions": 360001007,
    "requested_start": 360001008,
    "requested_end": 360001009,
    "justification": 360001010,
    "user_base": 360001011,
    "governance_key": 360001012,
    "governance_status": 360001013,
    "decision": 360001014,
    "entitlement_expires": 360001015,
}

_SALESFORCE_RECORD: dict[str, Any] = {
    "attributes": {
        "type": "License_Exception_Request__c",
        "url": "/services/data/v61.0/sobjects/License_Exception_Request__c/a0X5g000001AbCdEAK",
    },
    "Id": "a0X5g000001AbCdEAK",
    "Name": "Acme: 105 seats for the APAC rollout ",
    "IsDeleted": False,
    "CreatedDate": "2026-11-20T10:30:00.000+0000",
    "LastModifiedDate": "2026-11-21T08:15:42.000+0000",
    "SystemModstamp": "2026-11-21T08:15:42.000+0000",
    "CurrencyIsoCode": "EUR",
    "Account__c": "0015g00000AcmeAAAB",
    "Account__r": {
        "attributes": {"type": "Account", "url": "/services/data/v61.0/sobjects/Account/0015g00000AcmeAAAB"},
        "Name": "Acme Corp",
        "AccountNumber": "ACC-000042",
    },
    "Requester__c": "0055g00000DanaAAAB",
    "Requester__r": {
        "attributes": {"type": "User", "url": "/services/data/v61.0/sobjects/User/0055g00000DanaAAAB"},
        "Name": "Dana Rep",
        "Email": "dana.rep@vendor.example",
    },
    "Requester_Team__c": "EMEA Enterprise",
    "Customer_Segment__c": "Enterprise",
    "Category__c": "Seat Expansion",
    "Baseline_Seats__c": 100.0,
    "Baseline_Term_End__c": "2026-12-31",
    "Baseline_Environments__c": "Production",
    "Baseline_Regions__c": "EMEA",
    "Baseline_Features__c": "SSO;Audit Log",
    "Requested_Seats__c": 105.0,
    "Requested_Term_End__c": "2027-06-30",
    "Requested_Environments__c": "Production;Staging",
    "Requested_Regions__c": "EMEA;APAC",
    "Requested_Features__c": None,
    "Requested_Usage_Rights__c": "Embedding",
    "Requested_Price__c": 1234.5,
    "Requested_Other_Terms__c": None,
    "Use_Case__c": "Roll out to the new APAC support centre.",
    "Justification__c": "Strategic account, renewal in Q3.",
    "Risk_Exposure__c": None,
    "Adjacent_Features__c": "Analytics;API Access",
    "Revenue_Impact__c": 48000.0,
    "Data_Sensitivity__c": "Confidential",
    "User_Base__c": 2500.0,
    "Deployment_Scale__c": 3.0,
    "Requested_Start__c": "2026-12-01",
    "Requested_End__c": "2027-11-30",
}


def _custom(name: str, value: Any) -> dict[str, Any]:
    return {"id": ZENDESK_FIELD_IDS[name], "value": value}


_ZENDESK_CUSTOM_FIELDS: list[dict[str, Any]] = [
    {"id": 360000999, "value": None},
    _custom("category", "lec_category_geographic_scope"),
    _custom("requested_seats", "105"),
    _custom("baseline_seats", "100"),
    _custom("revenue_impact", "48000.50"),
    _custom("currency", None),
    _custom("data_sensitivity", "lec_sensitivity_internal"),
    _custom("requested_regions", ["lec_region_emea", "lec_region_apac"]),
    _custom("requested_start", "2026-12-01"),
    _custom("requested_end", "2027-11-30"),
    _custom("justification", "Customer expands support to Singapore."),
    _custom("user_base", None),
    _custom("governance_key", None),
    _custom("governance_status", None),
    _custom("decision", None),
    _custom("entitlement_expires", None),
]

_ZENDESK_TICKET: dict[str, Any] = {
    "url": "https://acme-support.zendesk.com/api/v2/tickets/35436.json",
    "id": 35436,
    "external_id": None,
    "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
    "created_at": "2026-11-20T10:30:00Z",
    "updated_at": "2026-11-21T08:15:42Z",
    "type": "task",
    "subject": "Deploy in APAC for the Singapore team",
    "raw_subject": "Deploy in APAC for the Singapore team",
    "description": "We need the product in our Singapore data centre.\n\nThanks, Kim",
    "priority": "normal",
    "status": "open",
    "recipient": None,
    "requester_id": 20978392,
    "submitter_id": 20978392,
    "assignee_id": 235323,
    "organization_id": 509974,
    "group_id": 98738,
    "collaborator_ids": [],
    "follower_ids": [],
    "email_cc_ids": [],
    "forum_topic_id": None,
    "problem_id": None,
    "has_incidents": False,
    "is_public": True,
    "due_at": None,
    "tags": ["enterprise", "license_exception"],
    "custom_fields": _ZENDESK_CUSTOM_FIELDS,
    "satisfaction_rating": None,
    "sharing_agreement_ids": [],
    "fields": _ZENDESK_CUSTOM_FIELDS,
    "followup_ids": [],
    "ticket_form_id": 360000123,
    "brand_id": 360000456,
    "allow_channelback": False,
    "allow_attachments": True,
    "from_messaging_channel": False,
    "generated_timestamp": 1795170942,
    "requester": {
        "id": 20978392,
        "name": "Kim Customer",
        "email": "kim@acme.example",
        "organization_id": 509974,
        "role": "end-user",
    },
    "organization": {
        "id": 509974,
        "name": "Acme Corp",
        "external_id": "ACC-000042",
        "tags": ["enterprise"],
        "organization_fields": {"segment": "Enterprise"},
    },
}

#: A decided request in the public JSON shape (SPEC §7.4), as the connector serialises it.
_REQUEST_VIEW: dict[str, Any] = {
    "id": "01JD4X8Y6Z",
    "key": "LEX-1042",
    "state": "approved",
    "track": "standard",
    "title": "Acme: 105 seats for the APAC rollout",
    "risk": {
        "score": 2.4,
        "band": "medium",
        "dimensions": {"commercial": 3, "legal": 2, "technical": 1, "reputational": 2},
        "explanation": [],
    },
    "intake": {"missing": [], "errors": {}, "conflicts": []},
    "decision": {
        "outcome": "approved_with_conditions",
        "rationale": "Strategic account;\nusage reviewed quarterly.",
        "decided_by": "chair@vendor.example",
        "decided_at": "2026-11-25T14:00:00Z",
        "customer_summary": "...",
        "internal_note": "...",
    },
    "entitlement": {
        "version": 1,
        "grants": {"seats": 105, "regions": ["EMEA", "APAC"], "term_end": "2027-06-30"},
        "effective_from": "2026-12-01",
        "expires_at": "2027-11-30",
        "conditions": [],
        "renewal": {"mode": "manual", "notice_days": 30},
        "success_metrics": [],
        "status": "active",
    },
    "url": "https://connector.vendor.example/requests/LEX-1042",
}


@pytest.fixture
def targets() -> dict[str, str]:
    return GOVERNANCE_FIELDS


@pytest.fixture
def outbound_paths() -> tuple[str, ...]:
    return OUTBOUND_PATHS


@pytest.fixture
def salesforce_record() -> dict[str, Any]:
    return copy.deepcopy(_SALESFORCE_RECORD)


@pytest.fixture
def zendesk_ticket() -> dict[str, Any]:
    return copy.deepcopy(_ZENDESK_TICKET)


@pytest.fixture
def zendesk_field_ids() -> dict[str, int]:
    return dict(ZENDESK_FIELD_IDS)


@pytest.fixture
def request_view() -> dict[str, Any]:
    return copy.deepcopy(_REQUEST_VIEW)
