"""Validation reports every problem of a mapping at once, each with a field, a rule code and a message."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from connector.governance.fields import DATA_SENSITIVITY
from connector.sources import get_kind
from mappings import (
    MappingError,
    MappingProblem,
    Selector,
    SourceDialect,
    default_mapping,
    load_mapping,
    validate_mapping,
)

SALESFORCE = get_kind("salesforce").dialect
ZENDESK = get_kind("zendesk").dialect

SF_DESCRIBE_FIELDS = [
    "Id", "Name", "IsDeleted", "CurrencyIsoCode", "Account__c", "Requester__c", "Category__c",
    "Requested_Seats__c", "Requested_Regions__c", "Governance_Status__c", "Decision__c", "OwnerId",
]  # fmt: skip


def rules(problems: list[MappingProblem]) -> list[tuple[str, str]]:
    return [(p.field, p.rule) for p in problems]


def test_every_problem_is_reported_at_once(targets: dict[str, str], outbound_paths: tuple[str, ...]) -> None:
    data: dict[str, Any] = {
        "kind": "salesforce",
        "object": "License_Exception_Request__c",
        "inbond": {},
        "inbound": {
            "title": "Name",
            "custmer.name": "Account__r.Name",
            "category": {"from": "Category__c", "map": {}, "lowercase": True},
            "requested_terms.seats": {"from": "Requested_Seats__c", "type": "int"},
            "requested_terms.regions": {"from": "Requested_Regions__c", "split": ""},
            "requested_terms.price": {"from": "Price__c", "split": ";"},
            "requested_end": {"from": "End__c", "type": "integer"},
            "use_case": {"type": "string"},
            "justification": {"from": "Justification__c", "case": "snake", "trim": "yes"},
            "user_base": {"from": "User_Base__c", "default": "lots"},
            "risk_exposure": 42,
        },
        "outbound": {"Governance_Status__c": "status", "Decision__c": "decision.outcome", "Bad Field": "state"},
    }
    problems = validate_mapping(data, SALESFORCE, targets, outbound_paths)
    assert rules(problems) == [
        ("inbond", "unknown_key"),
        ("inbound.custmer.name", "unknown_target"),
        ("inbound.category", "unknown_transform"),
        ("inbound.category", "empty_map"),
        ("inbound.requested_terms.seats", "unknown_type"),
        ("inbound.requested_terms.regions", "bad_split"),
        ("inbound.requested_terms.price", "bad_split"),
        ("inbound.requested_end", "type_mismatch"),
        ("inbound.use_case", "missing_from"),
        ("inbound.justification", "bad_option"),
        ("inbound.justification", "unknown_transform"),
        ("inbound.user_base", "bad_default"),
        ("inbound.risk_exposure", "bad_rule"),
        ("outbound.Governance_Status__c", "unknown_outbound_path"),
        ("outbound.Bad Field", "bad_outbound_field"),
    ]
    by_field = {p.field: p for p in problems}
    assert "Did you mean 'customer.name'?" in by_field["inbound.custmer.name"].message
    assert "Did you mean 'state'?" in by_field["outbound.Governance_Status__c"].message
    assert "'lowercase'" in problems[2].message
    assert all(p.message for p in problems)


def test_bad_kind_and_missing_object(targets: dict[str, str], outbound_paths: tuple[str, ...]) -> None:
    assert rules(validate_mapping({"kind": "hubspot", "inbound": {}}, SALESFORCE, targets, outbound_paths)) == [
        ("kind", "bad_kind")
    ]
    assert rules(validate_mapping({"kind": "salesforce", "inbound": {}}, SALESFORCE, targets, outbound_paths)) == [
        ("object", "missing_object")
    ]
    assert rules(validate_mapping({"object": "X__c"}, SALESFORCE, targets, outbound_paths)) == [
        ("kind", "bad_kind"),
        ("inbound", "missing_inbound"),
    ]
    assert rules(validate_mapping(["not", "a", "mapping"], SALESFORCE, targets, outbound_paths)) == [  # type: ignore[arg-type]
        ("document", "not_a_mapping")
    ]


def test_object_names_are_salesforce_api_names(targets: dict[str, str], outbound_paths: tuple[str, ...]) -> None:
    data = {"kind": "salesforce", "object": "Account WHERE Id != null", "inbound": {"title": "Name"}}
    assert rules(validate_mapping(data, SALESFORCE, targets, outbound_paths)) == [("object", "bad_object")]


def test_source_paths_must_be_salesforce_names(targets: dict[str, str], outbound_paths: tuple[str, ...]) -> None:
    data = {"kind": "salesforce", "object": "X__c", "inbound": {"title": "Name, (SELECT Id FROM Cases)"}}
    assert rules(validate_mapping(data, SALESFORCE, targets, outbound_paths)) == [("inbound.title", "bad_path")]
    data["inbound"] = {"title": "Account__r..Name"}
    assert rules(validate_mapping(data, SALESFORCE, targets, outbound_paths)) == [("inbound.title", "bad_path")]


def test_zendesk_select_and_outbound_keys(targets: dict[str, str], outbound_paths: tuple[str, ...]) -> None:
    data = {
        "kind": "zendesk",
        "select": {"tag": "license exception", "form": 1},
        "inbound": {"title": "subject", "requested_terms.seats": "custom_fields.seats"},
        "outbound": {"status": "state", "custom_fields.123": "key"},
    }
    assert rules(validate_mapping(data, ZENDESK, targets, outbound_paths)) == [
        ("select.form", "unknown_key"),
        ("select.tag", "bad_select"),
        ("inbound.requested_terms.seats", "bad_path"),
        ("outbound.status", "bad_outbound_field"),
    ]


def test_source_fields_from_salesforce_describe(targets: dict[str, str], outbound_paths: tuple[str, ...]) -> None:
    data = {
        "kind": "salesforce",
        "object": "License_Exception_Request__c",
        "inbound": {
            "title": "name",  # API names are case-insensitive
            "customer.name": "Account__r.Name",  # relationship of Account__c
            "requester.name": "Owner.Name",  # standard relationship of OwnerId
            "requester.email": "Requestor__r.Email",
            "category": {"from": "Categry__c", "map": {"Other": "other"}},
        },
        "outbound": {"Governance_Status__c": "state", "Decision_Text__c": "decision.outcome"},
    }
    problems = validate_mapping(data, SALESFORCE, targets, outbound_paths, source_fields=SF_DESCRIBE_FIELDS)
    assert rules(problems) == [
        ("inbound.requester.email", "unknown_source_field"),
        ("inbound.category", "unknown_source_field"),
        ("outbound.Decision_Text__c", "unknown_source_field"),
    ]
    assert "Did you mean 'Category__c'?" in problems[1].message


def test_source_fields_from_zendesk_ticket_fields(
    targets: dict[str, str], outbound_paths: tuple[str, ...], zendesk_field_ids: dict[str, int]
) -> None:
    known = [str(i) for i in zendesk_field_ids.values()]
    data = {
        "kind": "zendesk",
        "inbound": {
            "title": "subject",
            "customer.name": "organization.name",
            "use_case": "descripton",
            "requested_terms.seats": "custom_fields.360001002",
            "baseline_terms.seats": "custom_fields.999",
        },
        "outbound": {"custom_fields.360001013": "state", "custom_fields.42": "key"},
    }
    problems = validate_mapping(data, ZENDESK, targets, outbound_paths, source_fields=known)
    assert rules(problems) == [
        ("inbound.use_case", "unknown_source_field"),
        ("inbound.baseline_terms.seats", "unknown_source_field"),
        ("outbound.custom_fields.42", "unknown_source_field"),
    ]
    assert "Did you mean 'description'?" in problems[0].message


def test_enum_values_are_checked_when_enums_are_given(targets: dict[str, str], outbound_paths: tuple[str, ...]) -> None:
    data = {
        "kind": "salesforce",
        "object": "X__c",
        "inbound": {
            "data_sensitivity": {"from": "S__c", "map": {"Public": "public", "Secret": "secret"}, "default": "top"}
        },
    }
    problems = validate_mapping(data, SALESFORCE, targets, outbound_paths, enums={"data_sensitivity": DATA_SENSITIVITY})
    assert rules(problems) == [
        ("inbound.data_sensitivity", "unknown_enum_value"),
        ("inbound.data_sensitivity", "unknown_enum_value"),
    ]
    assert validate_mapping(data, SALESFORCE, targets, outbound_paths) == []


def test_map_values_must_fit_the_target(targets: dict[str, str], outbound_paths: tuple[str, ...]) -> None:
    data = {
        "kind": "salesforce",
        "object": "X__c",
        "inbound": {"requested_terms.seats": {"from": "T__c", "map": {"Gold": "five hundred", "Tin": [1]}}},
    }
    assert rules(validate_mapping(data, SALESFORCE, targets, outbound_paths)) == [
        ("inbound.requested_terms.seats", "bad_map"),
        ("inbound.requested_terms.seats", "bad_map"),
    ]


def test_duplicate_outbound_fields_after_placeholders(targets: dict[str, str], outbound_paths: tuple[str, ...]) -> None:
    data = {
        "kind": "zendesk",
        "inbound": {"title": "subject"},
        "outbound": {"custom_fields.{a}": "state", "custom_fields.{b}": "key"},
    }
    problems = validate_mapping(data, ZENDESK, targets, outbound_paths, placeholders={"a": 5, "b": "5"})
    assert rules(problems) == [("outbound.custom_fields.{b}", "duplicate_outbound_field")]


def test_text_with_yaml_errors_is_a_problem_not_an_exception(
    targets: dict[str, str], outbound_paths: tuple[str, ...]
) -> None:
    problems = validate_mapping("kind: salesforce\ninbound: [\n", SALESFORCE, targets, outbound_paths)
    assert rules(problems) == [("document", "bad_syntax")]
    assert "line" in problems[0].message


def test_documents_and_text_validate_like_dicts(targets: dict[str, str], outbound_paths: tuple[str, ...]) -> None:
    doc = default_mapping("salesforce")
    assert validate_mapping(doc, SALESFORCE, targets, outbound_paths) == []
    assert validate_mapping(doc.to_yaml(), SALESFORCE, targets, outbound_paths) == []
    assert validate_mapping(json.dumps(doc.to_dict()), SALESFORCE, targets, outbound_paths) == []


def test_load_refuses_structural_problems_with_all_of_them() -> None:
    with pytest.raises(MappingError) as refused:
        load_mapping({"kind": "zendesk", "inbound": {"title": {"from": "subject", "type": "text", "trim": 1}}})
    assert rules(refused.value.problems) == [("inbound.title", "unknown_type"), ("inbound.title", "bad_option")]
    assert refused.value.to_dict()["problems"][0]["rule"] == "unknown_type"
    assert "inbound.title" in str(refused.value)


def test_load_accepts_what_needs_the_catalogue_to_judge() -> None:
    doc = load_mapping({"kind": "zendesk", "inbound": {"no_such_target": "subject"}, "outbound": {}})
    assert list(doc.inbound) == ["no_such_target"]


def test_a_mapping_is_checked_against_the_dialect_of_its_connection(
    targets: dict[str, str], outbound_paths: tuple[str, ...]
) -> None:
    data = {"kind": "salesforce", "object": "X__c", "inbound": {"title": "Name"}, "outbound": {"Status__c": "state"}}
    assert validate_mapping(data, SALESFORCE, targets, outbound_paths) == []
    problems = validate_mapping(data, ZENDESK, targets, outbound_paths)
    assert rules(problems) == [("kind", "bad_kind")]  # not also every Zendesk rule the document breaks
    assert problems[0].message == "kind must be zendesk, not 'salesforce'."


def test_loading_takes_any_kind_name_validation_takes_the_dialects() -> None:
    assert load_mapping({"kind": "helpdesk", "inbound": {"title": "subject"}}).kind == "helpdesk"
    with pytest.raises(MappingError) as refused:
        load_mapping({"kind": "", "inbound": {}})
    assert rules(refused.value.problems) == [("kind", "bad_kind")]


def test_a_third_kind_brings_its_own_dialect(targets: dict[str, str], outbound_paths: tuple[str, ...]) -> None:
    helpdesk = SourceDialect(
        name="helpdesk",
        label="Helpdesk",
        record_noun="case",
        field_list="case fields",
        id_path="case_id",
        modified_path="changed_at",
        record_attributes=frozenset({"subject"}),
        outbound_key=re.compile(r"cf_[a-z]+"),
        outbound_key_rule="Helpdesk write-back keys are cf_<name>, not {key}.",
        selectors={"queue": Selector("<queue>", lambda value: isinstance(value, str), "not a queue: {value}")},
    )
    data = {
        "kind": "helpdesk",
        "select": {"queue": 7},
        "inbound": {"title": "subject", "use_case": "body", "justification": "reason"},
        "outbound": {"cf_status": "state", "Status": "state"},
    }
    problems = validate_mapping(data, helpdesk, targets, outbound_paths, source_fields=["body", "cf_status"])
    assert rules(problems) == [
        ("select.queue", "bad_select"),
        ("inbound.justification", "unknown_source_field"),
        ("outbound.Status", "bad_outbound_field"),
    ]
    assert problems[1].message == "'reason' is not a field of the Helpdesk case (per case fields)."
    assert problems[2].message == "Helpdesk write-back keys are cf_<name>, not 'Status'."
    named_object = {**data, "select": None, "object": "X", "outbound": {}}
    assert rules(validate_mapping(named_object, helpdesk, targets, outbound_paths)) == [("object", "bad_object")]
