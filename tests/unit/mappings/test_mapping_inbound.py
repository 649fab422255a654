"""Inbound rules and transforms on values shaped as Salesforce and Zendesk return them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from connector.governance.normalize import normalize
from connector.operations import fast_hash
from mappings import InboundResult, MappingDocument, MappingError, compile_inbound, load_mapping
from mappings.document import document_from_data
from mappings.inbound import UNEXPECTED_FAILURE
from mappings.paths import element_by_id, step
from mappings.transforms import InvalidValue, to_boolean, to_date, to_datetime, to_decimal, to_integer, to_text


def mapped(doc: MappingDocument, record: Any, targets: dict[str, str]) -> InboundResult:
    """One record through the program sync compiles once per page."""
    return compile_inbound(doc, targets)(record)


def stored_hash(result: InboundResult) -> str:
    """The content hash sync stores for a mapped record: its normalized fields and every error."""
    _typed, stored, errors = normalize(result.fields)
    errors.update(result.errors)
    return fast_hash(stored, errors)


def sf(inbound: dict[str, Any]) -> Any:
    return load_mapping({"kind": "salesforce", "object": "License_Exception_Request__c", "inbound": inbound})


def zd(inbound: dict[str, Any]) -> Any:
    return load_mapping({"kind": "zendesk", "inbound": inbound})


# --- numbers -------------------------------------------------------------------------------------------


def test_salesforce_float_becomes_integer_for_integer_targets(targets: dict[str, str]) -> None:
    result = mapped(sf({"requested_terms.seats": "Requested_Seats__c"}), {"Requested_Seats__c": 105.0}, targets)
    assert result.fields == {"requested_terms": {"seats": 105}}
    assert type(result.fields["requested_terms"]["seats"]) is int
    assert result.errors == {}


def test_fractional_float_for_integer_target_is_an_error_not_truncation(targets: dict[str, str]) -> None:
    result = mapped(
        sf({"requested_terms.seats": {"from": "Requested_Seats__c", "type": "integer"}}),
        {"Requested_Seats__c": 105.5},
        targets,
    )
    assert result.fields == {}
    assert result.errors["requested_terms.seats"] == "Requested_Seats__c: Expected a whole number, got 105.5."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("105", 105), (" 105 ", 105), ("105.0", 105), (105, 105), (Decimal("105.00"), 105), ("1e3", 1000)],
)
def test_integer_from_text_and_numbers(raw: Any, expected: int) -> None:
    assert to_integer(raw) == expected


@pytest.mark.parametrize("raw", ["105.5", "abc", True, float("nan"), float("inf"), [105], {"v": 1}, "1e999999999"])
def test_integer_refuses(raw: Any) -> None:
    with pytest.raises(InvalidValue):
        to_integer(raw)


def test_decimals_are_exact(targets: dict[str, str]) -> None:
    doc = sf({"revenue_impact.amount": "Revenue_Impact__c", "requested_terms.price": "Requested_Price__c"})
    result = mapped(doc, {"Revenue_Impact__c": "1234.50", "Requested_Price__c": 0.1}, targets)
    assert result.fields["revenue_impact"]["amount"] == Decimal("1234.50")
    assert str(result.fields["revenue_impact"]["amount"]) == "1234.50"
    assert result.fields["requested_terms"]["price"] == Decimal("0.1")  # not 0.1000000000000000055...
    assert to_decimal(1234.5) == Decimal("1234.5")
    assert to_decimal(48000) == Decimal(48000)


@pytest.mark.parametrize("raw", ["12,5", "NaN", "Infinity", float("nan"), True, ["1"]])
def test_decimal_refuses(raw: Any) -> None:
    with pytest.raises(InvalidValue):
        to_decimal(raw)


# --- dates and datetimes ---------------------------------------------------------------------------------


def test_dates(targets: dict[str, str]) -> None:
    doc = sf({"requested_start": "Requested_Start__c", "requested_end": "Requested_End__c"})
    result = mapped(doc, {"Requested_Start__c": "2026-11-20", "Requested_End__c": "2026-13-01"}, targets)
    assert result.fields == {"requested_start": date(2026, 11, 20)}
    assert "requested_end" in result.errors
    assert "2026-13-01" in result.errors["requested_end"]


def test_date_from_a_datetime_keeps_the_written_date() -> None:
    assert to_date("2026-11-20T23:30:00.000-0800") == date(2026, 11, 20)


@pytest.mark.parametrize(
    "raw",
    ["2026-11-20T10:30:00.000+0000", "2026-11-20T10:30:00Z", "2026-11-20T11:30:00+01:00", "2026-11-20T10:30:00"],
)
def test_datetimes_from_both_sources_become_aware_utc(raw: str) -> None:
    parsed = to_datetime(raw)
    assert parsed == datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    assert parsed is not None and parsed.utcoffset() is not None and parsed.tzinfo == UTC


def test_datetime_rule_type(targets: dict[str, str]) -> None:
    doc = sf({"requested_start": {"from": "CreatedDate", "type": "datetime"}})
    result = mapped(doc, {"CreatedDate": "2026-11-20T10:30:00.000+0000"}, targets)
    assert result.fields == {"requested_start": datetime(2026, 11, 20, 10, 30, tzinfo=UTC)}
    with pytest.raises(InvalidValue):
        to_datetime("20 Nov 2026")


# --- booleans and text -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [(True, True), ("true", True), ("1", True), ("FALSE", False), (0, False), ("no", False)]
)
def test_booleans(raw: Any, expected: bool) -> None:
    assert to_boolean(raw) is expected


def test_boolean_refuses_other_text() -> None:
    with pytest.raises(InvalidValue):
        to_boolean("maybe")


def test_text_is_trimmed_and_numbers_keep_their_written_form(targets: dict[str, str]) -> None:
    doc = sf({"title": "Name", "customer.account_id": "Account__r.AccountNumber"})
    record = {"Name": "  Acme seats \n", "Account__r": {"AccountNumber": 42.0}}
    assert mapped(doc, record, targets).fields == {"title": "Acme seats", "customer": {"account_id": "42"}}
    assert to_text(12.5) == "12.5"


def test_trim_false_keeps_whitespace_and_case_transforms(targets: dict[str, str]) -> None:
    doc = sf(
        {
            "title": {"from": "Name", "trim": False},
            "revenue_impact.currency": {"from": "CurrencyIsoCode", "case": "upper"},
            "customer.segment": {"from": "Segment__c", "case": "title"},
            "requester.team": {"from": "Team__c", "case": "lower"},
        }
    )
    record = {"Name": " Acme ", "CurrencyIsoCode": "eur", "Segment__c": "public sector", "Team__c": "EMEA Ent"}
    result = mapped(doc, record, targets)
    assert result.fields == {
        "title": " Acme ",
        "revenue_impact": {"currency": "EUR"},
        "customer": {"segment": "Public Sector"},
        "requester": {"team": "emea ent"},
    }


def test_a_list_for_a_text_target_is_an_error(targets: dict[str, str]) -> None:
    result = mapped(zd({"title": "tags"}), {"tags": ["a", "b"]}, targets)
    assert result.errors == {"title": "tags: Expected a single text value, got a list."}


# --- multi-select and lists ------------------------------------------------------------------------------


def test_salesforce_multiselect_is_split(targets: dict[str, str]) -> None:
    doc = sf({"requested_terms.regions": {"from": "Requested_Regions__c", "split": ";"}})
    result = mapped(doc, {"Requested_Regions__c": "EMEA;APAC"}, targets)
    assert result.fields == {"requested_terms": {"regions": ["EMEA", "APAC"]}}


def test_split_trims_drops_empties_and_duplicates(targets: dict[str, str]) -> None:
    doc = sf({"requested_terms.features": {"from": "F__c", "split": ","}})
    result = mapped(doc, {"F__c": " SSO , Audit Log,,SSO "}, targets)
    assert result.fields == {"requested_terms": {"features": ["SSO", "Audit Log"]}}


def test_list_targets_split_on_semicolon_by_default_and_accept_lists(targets: dict[str, str]) -> None:
    doc = zd({"requested_terms.regions": "regions", "adjacent_features": "tags"})
    result = mapped(doc, {"regions": "EMEA;APAC", "tags": ["analytics", "api", "analytics"]}, targets)
    assert result.fields == {
        "requested_terms": {"regions": ["EMEA", "APAC"]},
        "adjacent_features": ["analytics", "api"],
    }


def test_value_map_applies_to_each_list_element(targets: dict[str, str]) -> None:
    doc = zd(
        {
            "requested_terms.regions": {
                "from": "custom_fields.7",
                "map": {"lec_region_emea": "EMEA", "lec_region_apac": "APAC"},
            }
        }
    )
    ticket = {"custom_fields": [{"id": 7, "value": ["lec_region_emea", "lec_region_apac"]}]}
    assert mapped(doc, ticket, targets).fields == {"requested_terms": {"regions": ["EMEA", "APAC"]}}
    ticket["custom_fields"][0]["value"] = ["lec_region_emea", "lec_region_mars"]
    result = mapped(doc, ticket, targets)
    assert result.fields == {}
    assert "'lec_region_mars' is not a value this mapping knows" in result.errors["requested_terms.regions"]


def test_an_object_for_a_list_target_is_an_error(targets: dict[str, str]) -> None:
    result = mapped(sf({"requested_terms.regions": "R__c"}), {"R__c": {"EMEA": True}}, targets)
    assert result.errors == {"requested_terms.regions": "R__c: Expected a list of values, got an object."}


# --- value maps ----------------------------------------------------------------------------------------------

CATEGORY_MAP = {"Seat Expansion": "seat_expansion", "Deployment Scope": "deployment_scope", "Other": "other"}


def test_picklist_values_are_mapped_exactly_then_case_insensitively(targets: dict[str, str]) -> None:
    doc = sf({"category": {"from": "Category__c", "map": CATEGORY_MAP}})
    assert mapped(doc, {"Category__c": "Seat Expansion"}, targets).fields == {"category": "seat_expansion"}
    assert mapped(doc, {"Category__c": "seat expansion "}, targets).fields == {"category": "seat_expansion"}


def test_unknown_picklist_value_without_default_is_an_error(targets: dict[str, str]) -> None:
    doc = sf({"category": {"from": "Category__c", "map": CATEGORY_MAP}})
    result = mapped(doc, {"Category__c": "Embedding Rights"}, targets)
    assert result.fields == {}
    assert result.errors["category"].startswith("Category__c: 'Embedding Rights' is not a value this mapping knows")
    assert "Seat Expansion" in result.errors["category"]


def test_unknown_picklist_value_with_default_falls_back(targets: dict[str, str]) -> None:
    doc = sf({"category": {"from": "Category__c", "map": CATEGORY_MAP, "default": "other"}})
    assert mapped(doc, {"Category__c": "Embedding Rights"}, targets).fields == {"category": "other"}
    assert mapped(doc, {"Category__c": None}, targets).fields == {"category": "other"}


def test_strict_with_default_refuses_unknown_values_but_fills_nulls(targets: dict[str, str]) -> None:
    doc = sf({"category": {"from": "Category__c", "map": CATEGORY_MAP, "default": "other", "strict": True}})
    assert "category" in mapped(doc, {"Category__c": "Embedding Rights"}, targets).errors
    assert mapped(doc, {}, targets).fields == {"category": "other"}


def test_non_strict_map_without_default_passes_unknown_values_through(targets: dict[str, str]) -> None:
    doc = sf({"customer.segment": {"from": "Seg__c", "map": {"SMB": "small"}, "strict": False}})
    assert mapped(doc, {"Seg__c": "Mid-Market"}, targets).fields == {"customer": {"segment": "Mid-Market"}}


def test_map_values_are_coerced_to_the_target_type(targets: dict[str, str]) -> None:
    doc = sf({"requested_terms.seats": {"from": "Tier__c", "map": {"Gold": 500, "Silver": "100"}}})
    assert mapped(doc, {"Tier__c": "Silver"}, targets).fields == {"requested_terms": {"seats": 100}}
    assert mapped(doc, {"Tier__c": "Gold"}, targets).fields == {"requested_terms": {"seats": 500}}


def test_map_values_that_do_not_fit_are_errors_when_hit(targets: dict[str, str]) -> None:
    doc = sf({"requested_terms.seats": {"from": "Tier__c", "map": {"Gold": "lots", "Tin": 5}}})
    assert mapped(doc, {"Tier__c": "Tin"}, targets).fields == {"requested_terms": {"seats": 5}}
    assert mapped(doc, {"Tier__c": "Gold"}, targets).errors == {
        "requested_terms.seats": (
            "Tier__c: map value for 'Gold' does not fit this field: Expected a whole number, got 'lots'."
        )
    }


def test_boolean_source_values_look_up_true_false_keys(targets: dict[str, str]) -> None:
    doc = zd({"data_sensitivity": {"from": "custom_fields.9", "map": {True: "regulated", False: "internal"}}})
    ticket = {"custom_fields": [{"id": 9, "value": True}]}
    assert mapped(doc, ticket, targets).fields == {"data_sensitivity": "regulated"}


# --- nulls, defaults and paths --------------------------------------------------------------------------------


def test_nulls_and_blank_text_skip_the_field_and_defaults_apply(targets: dict[str, str]) -> None:
    doc = sf(
        {
            "title": "Name",
            "use_case": "Use_Case__c",
            "revenue_impact.currency": {"from": "CurrencyIsoCode", "default": "USD"},
            "requested_terms.seats": {"from": "Seats__c", "default": 0},
        }
    )
    result = mapped(doc, {"Name": None, "Use_Case__c": "   ", "CurrencyIsoCode": "", "Seats__c": None}, targets)
    assert result.fields == {"revenue_impact": {"currency": "USD"}, "requested_terms": {"seats": 0}}
    assert result.errors == {}


def test_constant_rule_without_source(targets: dict[str, str]) -> None:
    doc = sf({"revenue_impact.currency": {"default": "USD"}})
    assert mapped(doc, {}, targets).fields == {"revenue_impact": {"currency": "USD"}}


def test_null_relationship_objects_give_none(targets: dict[str, str]) -> None:
    doc = sf({"customer.name": "Account__r.Name", "requester.email": "Requester__r.Email", "title": "Name"})
    result = mapped(doc, {"Name": "x", "Account__r": None, "Requester__r": None}, targets)
    assert result.fields == {"title": "x"}
    assert result.errors == {}


def test_paths_through_non_objects_read_as_missing(targets: dict[str, str]) -> None:
    doc = sf({"customer.name": "Account__r.Parent.Name", "title": "Name.First"})
    result = mapped(doc, {"Account__r": {"Parent": "not an object"}, "Name": "plain text"}, targets)
    assert result.fields == {}
    assert result.errors == {}


def test_deep_relationship_paths(targets: dict[str, str]) -> None:
    doc = sf({"customer.name": "Opportunity__r.Account.Name"})
    record = {"Opportunity__r": {"attributes": {"type": "Opportunity"}, "Account": {"Name": "Acme"}}}
    assert mapped(doc, record, targets).fields == {"customer": {"name": "Acme"}}


def test_zendesk_custom_fields_are_looked_up_by_id(targets: dict[str, str]) -> None:
    doc = zd(
        {
            "requested_terms.seats": "custom_fields.360001002",
            "customer.segment": "organization.organization_fields.segment",
        }
    )
    ticket = {
        "custom_fields": [{"id": 1, "value": "9"}, {"id": 360001002, "value": "105"}],
        "organization": {"organization_fields": {"segment": "Enterprise"}},
    }
    assert mapped(doc, ticket, targets).fields == {
        "requested_terms": {"seats": 105},
        "customer": {"segment": "Enterprise"},
    }
    assert mapped(doc, {"custom_fields": [{"id": 1, "value": "9"}], "organization": None}, targets).fields == {}


def test_bad_default_is_reported_when_it_is_needed(targets: dict[str, str]) -> None:
    doc = sf({"requested_terms.seats": {"from": "Seats__c", "default": "many"}})
    assert mapped(doc, {"Seats__c": 3.0}, targets).fields == {"requested_terms": {"seats": 3}}
    result = mapped(doc, {}, targets)
    assert result.errors["requested_terms.seats"] == (
        "Seats__c: default does not fit this field: Expected a whole number, got 'many'."
    )


def test_unmappable_values_do_not_stop_the_other_fields(targets: dict[str, str]) -> None:
    doc = sf({"title": "Name", "requested_terms.seats": "Seats__c", "requested_end": "End__c"})
    result = mapped(doc, {"Name": "ok", "Seats__c": "lots", "End__c": "soon"}, targets)
    assert result.fields == {"title": "ok"}
    assert set(result.errors) == {"requested_terms.seats", "requested_end"}


def test_non_mapping_records_map_to_nothing(targets: dict[str, str]) -> None:
    doc = sf({"title": "Name", "revenue_impact.currency": {"from": "CurrencyIsoCode", "default": "USD"}})
    records: list[Any] = [None, [], "text", 42]
    for record in records:
        result = mapped(doc, record, targets)
        assert result.fields == {"revenue_impact": {"currency": "USD"}}
        assert result.errors == {}


def test_targets_outside_the_catalogue_keep_the_source_value() -> None:
    doc = sf({"custom.thing": "Thing__c", "deep.a.b": "B__c"})
    result = mapped(doc, {"Thing__c": 1.5, "B__c": " x "}, {})
    assert result.fields == {"custom": {"thing": 1.5}, "deep": {"a": {"b": "x"}}}


def test_whole_and_partial_targets_conflict_without_raising() -> None:
    inbound = {"customer": "Account__r", "customer.name": "Account__r.Name"}
    data = {"kind": "salesforce", "object": "Thing__c", "inbound": inbound}
    with pytest.raises(MappingError) as refused:
        load_mapping(data)
    assert [p.rule for p in refused.value.problems] == ["conflicting_target"]
    doc = document_from_data(data)  # as if loaded without checks: applying must still not raise
    result = mapped(doc, {"Account__r": {"Name": "Acme"}}, {})
    assert "customer" in result.errors
    assert not any(UNEXPECTED_FAILURE in message for message in result.errors.values())


# --- programs, results and hashes -----------------------------------------------------------------------------


def test_a_compiled_program_maps_many_records_alike(targets: dict[str, str]) -> None:
    doc = sf({"title": "Name", "requested_terms.seats": "Seats__c"})
    program = compile_inbound(doc, targets)
    records = [{"Name": "x", "Seats__c": 2.0}, {"Name": "y"}, {"Seats__c": "lots"}]
    assert [program(record) for record in records] == [compile_inbound(doc, targets)(record) for record in records]
    assert program(records[0]) == InboundResult({"title": "x", "requested_terms": {"seats": 2}}, {})


def test_result_helpers() -> None:
    result = InboundResult({"title": "x", "customer": {"name": "Acme"}}, {})
    assert result.get("customer.name") == "Acme"
    assert result.get("customer.segment", "n/a") == "n/a"
    assert result.flat() == {"customer.name": "Acme", "title": "x"}
    assert result.ok


def test_content_hash_is_stable_and_sensitive(targets: dict[str, str]) -> None:
    doc = sf({"title": "Name", "requested_end": "End__c", "revenue_impact.amount": "Amount__c"})
    first = mapped(doc, {"Name": "x", "End__c": "2027-01-31", "Amount__c": 10.5}, targets)
    again = mapped(doc, {"End__c": "2027-01-31", "Amount__c": 10.5, "Name": " x ", "Other__c": 1}, targets)
    changed = mapped(doc, {"Name": "x", "End__c": "2027-02-01", "Amount__c": 10.5}, targets)
    assert stored_hash(first) == stored_hash(again)
    assert stored_hash(first) != stored_hash(changed)
    assert len(stored_hash(first)) == 64
    bad_a = mapped(doc, {"End__c": "soon"}, targets)
    bad_b = mapped(doc, {"End__c": "later"}, targets)
    assert bad_a.fields == bad_b.fields
    assert stored_hash(bad_a) != stored_hash(bad_b)


def test_custom_fields_read_through_the_per_record_index_as_through_a_scan():
    """`custom_fields.<id>` reads use an index built once per record; it must answer exactly as `step` does."""
    lists = [
        [{"id": 360001, "value": "EMEA"}, {"id": 360002, "value": None}, {"id": 360001, "value": "second"}],
        [{"id": "360001", "value": 5}, {"id": 7}],
        [{"id": "7", "value": "text id first"}, {"id": 7, "value": "integer id second"}],
        [{"id": 7, "value": "integer id first"}, {"id": "7", "value": "text id second"}, {"id": True}],
        [{"no_id": 1}, "text", 3],
        ["a", "b", "c"],
        [],
        {"360001": "dict value"},
        None,
    ]
    for value in lists:
        for segment in ("360001", "360002", "7", "0", "1", "0360001", "99"):
            assert element_by_id(value, segment, "custom_fields", {}) == step(
                value, segment, int(segment)), (value, segment)
