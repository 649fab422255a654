"""Reading and writing mapping documents, and diffs between versions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mappings import InboundRule, MappingError, default_mapping, load_mapping, mapping_diff

YAML = """
kind: zendesk
select: {tag: license_exception}
inbound:
  title: subject
  requested_terms.regions:
    from: custom_fields.77
    map: {NO: Norway, yes: EMEA, 1: APAC}
  requested_end: {from: custom_fields.78, default: 2027-12-31}
outbound:
  custom_fields.79: state
"""


def test_yaml_reads_norway_as_text_and_dates_as_text() -> None:
    doc = load_mapping(YAML)
    rule = doc.inbound["requested_terms.regions"]
    assert rule.map == {"NO": "Norway", "yes": "EMEA", "1": "APAC"}
    assert doc.inbound["requested_end"].default == "2027-12-31"
    assert doc.inbound["title"] == InboundRule(source="subject")
    assert doc.outbound == {"custom_fields.79": "state"}


def test_json_text_and_bytes_load_the_same_document() -> None:
    doc = load_mapping(YAML)
    assert load_mapping(json.dumps(doc.to_dict())) == doc
    assert load_mapping(YAML.encode()) == doc
    assert load_mapping(doc) is doc


def test_keys_written_twice_are_refused() -> None:
    with pytest.raises(MappingError) as refused:
        load_mapping("kind: zendesk\ninbound:\n  title: subject\n  title: description\n")
    (problem,) = refused.value.problems
    assert problem.rule == "bad_syntax"
    assert "'title' is written twice" in problem.message
    assert "line 4" in problem.message


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(MappingError) as refused:
        load_mapping("kind: zendesk\ninbound:\n  title: [subject\n")
    assert refused.value.problems[0].rule == "bad_syntax"
    with pytest.raises(MappingError):
        load_mapping(b"\xff\xfe")


def test_rules_round_trip_in_the_form_they_were_written() -> None:
    data: dict[str, Any] = {
        "kind": "salesforce",
        "object": "License_Exception_Request__c",
        "description": "Opportunity-based exceptions",
        "inbound": {
            "title": "Name",
            "category": {"from": "Category__c", "map": {"A": "other"}, "default": "other", "strict": False},
            "requested_terms.regions": {"from": "R__c", "split": ",", "trim": True, "case": "upper"},
            "revenue_impact.currency": {"default": "USD"},
        },
        "outbound": {"Governance_Status__c": "state"},
    }
    doc = load_mapping(data)
    assert doc.to_dict() == data
    assert load_mapping(doc.to_yaml()) == doc
    assert load_mapping({**data, "inbound": {**data["inbound"], "title": {"from": "Name"}}}) == doc


def test_documents_are_immutable() -> None:
    doc = default_mapping("salesforce")
    with pytest.raises(TypeError):
        doc.inbound["title"] = InboundRule(source="Subject__c")  # type: ignore[index]
    with pytest.raises(AttributeError):
        doc.kind = "zendesk"  # type: ignore[misc]


def test_mapping_diff_lists_added_removed_and_changed_rules() -> None:
    old = default_mapping("salesforce").to_dict()
    new = json.loads(json.dumps(old))
    new["inbound"]["title"] = {"from": "Name"}  # same rule, other spelling: no change
    new["inbound"]["category"]["default"] = "other"
    del new["inbound"]["risk_exposure"]
    new["inbound"]["requested_terms.other"] = "Other_Terms__c"
    new["outbound"]["Risk_Score__c"] = "risk.score"
    new["object"] = "Opportunity"
    changes = mapping_diff(old, new)
    assert [(c["change"], c["field"]) for c in changes] == [
        ("changed", "object"),
        ("changed", "inbound.category"),
        ("changed", "inbound.requested_terms.other"),
        ("removed", "inbound.risk_exposure"),
        ("added", "outbound.Risk_Score__c"),
    ]
    assert changes[0] == {
        "change": "changed",
        "field": "object",
        "old": "License_Exception_Request__c",
        "new": "Opportunity",
    }
    assert changes[3] == {"change": "removed", "field": "inbound.risk_exposure", "old": "Risk_Exposure__c"}
    assert changes[4] == {"change": "added", "field": "outbound.Risk_Score__c", "new": "risk.score"}
    assert mapping_diff(old, old) == []
    assert mapping_diff(default_mapping("salesforce"), default_mapping("salesforce")) == []


def test_mapping_diff_from_nothing() -> None:
    changes = mapping_diff(None, default_mapping("zendesk"))
    assert {c["change"] for c in changes} == {"added"}
    assert {"field": "kind", "change": "added", "new": "zendesk"} in changes
