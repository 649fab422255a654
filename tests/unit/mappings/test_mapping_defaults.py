"""The shipped default mappings applied to realistic Salesforce records and Zendesk tickets."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connector.governance.fields import DATA_SENSITIVITY
from connector.sources import get_kind
from mappings import (
    ZENDESK_PLACEHOLDER_FIELDS,
    InboundResult,
    MappingDocument,
    apply_outbound,
    compile_inbound,
    default_mapping,
    default_mapping_text,
    load_mapping,
    resolve_placeholders,
    validate_mapping,
)

SALESFORCE = get_kind("salesforce").dialect
ZENDESK = get_kind("zendesk").dialect

CATEGORIES = (
    "seat_expansion", "deployment_scope", "term_extension", "usage_rights",
    "geographic_scope", "feature_access", "pricing_deviation", "other",
)  # fmt: skip
ENUMS = {"category": CATEGORIES, "data_sensitivity": DATA_SENSITIVITY}

#: Fields of License_Exception_Request__c (the shared object contract) as describe lists them.
SALESFORCE_OBJECT_FIELDS = [
    "Id", "Name", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", "CurrencyIsoCode",
    "Account__c", "Requester__c", "Requester_Team__c", "Customer_Segment__c", "Category__c",
    "Baseline_Seats__c", "Baseline_Term_End__c", "Baseline_Environments__c", "Baseline_Regions__c",
    "Baseline_Features__c", "Requested_Seats__c", "Requested_Term_End__c", "Requested_Environments__c",
    "Requested_Regions__c", "Requested_Features__c", "Requested_Usage_Rights__c", "Requested_Price__c",
    "Requested_Other_Terms__c", "Use_Case__c", "Justification__c", "Risk_Exposure__c", "Adjacent_Features__c",
    "Revenue_Impact__c", "Data_Sensitivity__c", "User_Base__c", "Deployment_Scale__c", "Requested_Start__c",
    "Requested_End__c", "Governance_Key__c", "Governance_Status__c", "Governance_Track__c", "Risk_Band__c",
    "Decision__c", "Decision_Rationale__c", "Granted_Boundaries__c", "Entitlement_Effective__c",
    "Entitlement_Expires__c", "Missing_Information__c", "Missing_Fields__c", "Votes_Waiting__c",
    "Governance_URL__c",
]  # fmt: skip


def mapped(doc: MappingDocument, record: dict[str, Any], targets: dict[str, str]) -> InboundResult:
    return compile_inbound(doc, targets)(record)


# --- Salesforce ------------------------------------------------------------------------------------------


def test_salesforce_default_is_valid_against_the_object(
    targets: dict[str, str], outbound_paths: tuple[str, ...]
) -> None:
    doc = default_mapping("salesforce")
    assert doc.kind == "salesforce"
    assert doc.object == "License_Exception_Request__c"
    problems = validate_mapping(
        doc, SALESFORCE, targets, outbound_paths, source_fields=SALESFORCE_OBJECT_FIELDS, enums=ENUMS
    )
    assert problems == []


def test_salesforce_default_maps_a_full_record(salesforce_record: dict[str, Any], targets: dict[str, str]) -> None:
    result = mapped(default_mapping("salesforce"), salesforce_record, targets)
    assert result.errors == {}
    assert result.fields == {
        "title": "Acme: 105 seats for the APAC rollout",
        "category": "seat_expansion",
        "customer": {"name": "Acme Corp", "account_id": "ACC-000042", "segment": "Enterprise"},
        "requester": {"name": "Dana Rep", "email": "dana.rep@vendor.example", "team": "EMEA Enterprise"},
        "baseline_terms": {
            "seats": 100,
            "term_end": date(2026, 12, 31),
            "environments": ["Production"],
            "regions": ["EMEA"],
            "features": ["SSO", "Audit Log"],
        },
        "requested_terms": {
            "seats": 105,
            "term_end": date(2027, 6, 30),
            "environments": ["Production", "Staging"],
            "regions": ["EMEA", "APAC"],
            "usage_rights": ["Embedding"],
            "price": Decimal("1234.5"),
        },
        "use_case": "Roll out to the new APAC support centre.",
        "justification": "Strategic account, renewal in Q3.",
        "adjacent_features": ["Analytics", "API Access"],
        "revenue_impact": {"amount": Decimal("48000.0"), "currency": "EUR"},
        "data_sensitivity": "confidential",
        "user_base": 2500,
        "deployment_scale": 3,
        "requested_start": date(2026, 12, 1),
        "requested_end": date(2027, 11, 30),
    }


def test_salesforce_default_covers_every_catalogue_field_the_object_has(targets: dict[str, str]) -> None:
    mapped = set(default_mapping("salesforce").inbound)
    # the object has no baseline usage rights, price or other terms
    assert set(targets) - mapped == {"baseline_terms.usage_rights", "baseline_terms.price", "baseline_terms.other"}


def test_salesforce_default_on_a_sparse_record_with_bad_values(
    salesforce_record: dict[str, Any], targets: dict[str, str]
) -> None:
    salesforce_record.update(
        {
            "Account__r": None,
            "Requester__r": None,
            "CurrencyIsoCode": None,
            "Category__c": "Embedding Rights",
            "Data_Sensitivity__c": "Top Secret",
            "Requested_Seats__c": 105.5,
            "Requested_Regions__c": None,
        }
    )
    result = mapped(default_mapping("salesforce"), salesforce_record, targets)
    assert set(result.errors) == {"category", "data_sensitivity", "requested_terms.seats"}
    assert "customer" in result.fields and "name" not in result.fields["customer"]
    assert "requester" in result.fields and "email" not in result.fields["requester"]
    assert result.fields["revenue_impact"]["currency"] == "USD"
    assert "regions" not in result.fields["requested_terms"]


def test_salesforce_default_outbound(request_view: dict[str, Any]) -> None:
    values = apply_outbound(default_mapping("salesforce"), request_view)
    assert values == {
        "Governance_Key__c": "LEX-1042",
        "Governance_Status__c": "approved",
        "Governance_Track__c": "standard",
        "Risk_Band__c": "medium",
        "Decision__c": "approved_with_conditions",
        "Decision_Rationale__c": "Strategic account;\nusage reviewed quarterly.",
        "Granted_Boundaries__c": (
            "seats: 105; regions: EMEA, APAC; term_end: 2027-06-30; valid 2026-12-01 to 2027-11-30"
        ),
        "Entitlement_Effective__c": "2026-12-01",
        "Entitlement_Expires__c": "2027-11-30",
        "Missing_Information__c": None,
        "Missing_Fields__c": None,
        "Votes_Waiting__c": None,
        "Governance_URL__c": "https://connector.vendor.example/requests/LEX-1042",
    }


# --- Zendesk ---------------------------------------------------------------------------------------------------


def test_zendesk_default_needs_its_placeholders(
    targets: dict[str, str], outbound_paths: tuple[str, ...], zendesk_field_ids: dict[str, int]
) -> None:
    doc = default_mapping("zendesk")
    assert doc.select == {"tag": "license_exception"}
    assert set(doc.placeholders()) == set(ZENDESK_PLACEHOLDER_FIELDS)
    problems = validate_mapping(doc, ZENDESK, targets, outbound_paths)
    assert {p.rule for p in problems} == {"unresolved_placeholder"}
    assert len(problems) == len(ZENDESK_PLACEHOLDER_FIELDS)
    assert validate_mapping(doc, ZENDESK, targets, outbound_paths, placeholders=zendesk_field_ids, enums=ENUMS) == []
    resolved = resolve_placeholders(doc, zendesk_field_ids)
    known = [str(i) for i in zendesk_field_ids.values()]
    assert validate_mapping(resolved, ZENDESK, targets, outbound_paths, source_fields=known, enums=ENUMS) == []


def test_zendesk_default_maps_a_ticket(
    zendesk_ticket: dict[str, Any], targets: dict[str, str], zendesk_field_ids: dict[str, int]
) -> None:
    doc = resolve_placeholders(default_mapping("zendesk"), zendesk_field_ids)
    result = mapped(doc, zendesk_ticket, targets)
    assert result.errors == {}
    assert result.fields == {
        "title": "Deploy in APAC for the Singapore team",
        "use_case": "We need the product in our Singapore data centre.\n\nThanks, Kim",
        "requester": {"name": "Kim Customer", "email": "kim@acme.example"},
        "customer": {"name": "Acme Corp", "account_id": "ACC-000042", "segment": "Enterprise"},
        "category": "geographic_scope",
        "requested_terms": {"seats": 105, "regions": ["EMEA", "APAC"]},
        "baseline_terms": {"seats": 100},
        "revenue_impact": {"amount": Decimal("48000.50"), "currency": "USD"},
        "data_sensitivity": "internal",
        "requested_start": date(2026, 12, 1),
        "requested_end": date(2027, 11, 30),
        "justification": "Customer expands support to Singapore.",
    }


def test_zendesk_default_without_placeholders_reads_them_as_missing(
    zendesk_ticket: dict[str, Any], targets: dict[str, str]
) -> None:
    result = mapped(default_mapping("zendesk"), zendesk_ticket, targets)
    assert result.errors == {}
    assert result.fields["title"] == "Deploy in APAC for the Singapore team"
    assert "category" not in result.fields
    assert result.fields["revenue_impact"] == {"currency": "USD"}  # the default still applies


def test_zendesk_numbers_as_numbers_and_missing_organization(
    zendesk_ticket: dict[str, Any], targets: dict[str, str], zendesk_field_ids: dict[str, int]
) -> None:
    for entry in zendesk_ticket["custom_fields"]:
        if entry["id"] == zendesk_field_ids["requested_seats"]:
            entry["value"] = 105
        if entry["id"] == zendesk_field_ids["data_sensitivity"]:
            entry["value"] = "lec_sensitivity_unknown"
    zendesk_ticket["organization"] = None
    doc = resolve_placeholders(default_mapping("zendesk"), zendesk_field_ids)
    result = mapped(doc, zendesk_ticket, targets)
    assert result.fields["requested_terms"]["seats"] == 105
    assert "customer" not in result.fields
    assert list(result.errors) == ["data_sensitivity"]


def test_zendesk_default_outbound(request_view: dict[str, Any], zendesk_field_ids: dict[str, int]) -> None:
    doc = resolve_placeholders(default_mapping("zendesk"), zendesk_field_ids)
    assert apply_outbound(doc, request_view) == {
        "custom_fields.360001012": "LEX-1042",
        "custom_fields.360001013": "approved",
        "custom_fields.360001014": "approved_with_conditions",
        "custom_fields.360001015": "2027-11-30",
    }
    assert apply_outbound(default_mapping("zendesk"), request_view) == {}  # nowhere to write yet


def test_placeholder_fields_match_the_default_zendesk_maps() -> None:
    doc = default_mapping("zendesk")
    by_placeholder = {
        rule.source.split("{")[1].rstrip("}"): rule
        for rule in doc.inbound.values()
        if rule.source and "{" in rule.source
    }
    for name, spec in ZENDESK_PLACEHOLDER_FIELDS.items():
        assert spec["type"] in {"text", "textarea", "integer", "decimal", "date", "tagger", "multiselect", "checkbox"}
        assert spec["title"]
        assert spec["direction"] in {"inbound", "outbound"}
        if spec["direction"] == "inbound":
            rule = by_placeholder[name]
            if "options" in spec:
                assert rule.map is not None
                assert [o["value"] for o in spec["options"]] == list(rule.map)
        else:
            assert f"custom_fields.{{{name}}}" in doc.outbound
    assert ZENDESK_PLACEHOLDER_FIELDS["category"]["options"][0] == {
        "name": "Seat expansion",
        "value": "lec_category_seat_expansion",
    }


def test_partial_placeholders_leave_the_rest_unresolved(
    targets: dict[str, str], outbound_paths: tuple[str, ...]
) -> None:
    doc = resolve_placeholders(default_mapping("zendesk"), {"category": 11, "decision": "12", "not_used": 1})
    assert doc.inbound["category"].source == "custom_fields.11"
    assert "custom_fields.12" in doc.outbound
    problems = validate_mapping(doc, ZENDESK, targets, outbound_paths)
    assert "inbound.category" not in {p.field for p in problems}
    assert len(problems) == len(ZENDESK_PLACEHOLDER_FIELDS) - 2


# --- both ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["salesforce", "zendesk"])
def test_default_documents_round_trip(kind: str) -> None:
    doc = default_mapping(kind)
    assert load_mapping(doc.to_yaml()) == doc
    assert load_mapping(json.dumps(doc.to_dict())) == doc
    assert load_mapping(doc.to_dict()).to_dict() == doc.to_dict()
    assert default_mapping_text(kind).startswith("# Default mapping")
    assert default_mapping(kind) is not doc


def test_unknown_kind_has_no_default() -> None:
    with pytest.raises(ValueError, match="hubspot"):
        default_mapping("hubspot")


def test_source_paths_for_the_soql_field_list() -> None:
    paths = default_mapping("salesforce").source_paths()
    assert paths[:3] == ["Name", "Category__c", "Account__r.Name"]
    assert "CurrencyIsoCode" in paths
    assert len(paths) == len(set(paths))
