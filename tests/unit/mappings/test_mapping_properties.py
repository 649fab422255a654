"""Property tests: no record, view or document makes the mapping engine raise (sync and the API rely on it)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.governance.fields import GOVERNANCE_FIELDS, OUTBOUND_PATHS
from connector.governance.normalize import normalize
from connector.operations import fast_hash
from connector.sources import get_kind
from mappings import (
    MappingError,
    apply_outbound,
    compile_inbound,
    default_mapping,
    load_mapping,
    resolve_placeholders,
    validate_mapping,
)
from mappings.inbound import UNEXPECTED_FAILURE

FIELD_IDS = {name: 900 + index for index, name in enumerate(default_mapping("zendesk").placeholders())}
DOCUMENTS = [
    default_mapping("salesforce"),
    default_mapping("zendesk"),
    resolve_placeholders(default_mapping("zendesk"), FIELD_IDS),
]
PROGRAMS = [compile_inbound(doc, GOVERNANCE_FIELDS) for doc in DOCUMENTS]
DIALECTS = {kind: get_kind(kind).dialect for kind in ("salesforce", "zendesk")}
SOURCE_KEYS = sorted(
    {path.split(".")[0] for doc in DOCUMENTS for path in doc.source_paths()} | {"attributes", "custom_fields", "fields"}
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(
        ["2026-11-20", "2026-11-20T10:30:00.000+0000", "2026-11-20T10:30:00Z", "EMEA;APAC", " ; ;", "105.0",
         "1e999999999", "Seat Expansion", "lec_region_emea", "lec_sensitivity_internal", "NaN", "-0",
         "\u0661\u0660\u0665"]
    )
)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(["Name", "Email", "id", "value"]), children, max_size=4)
    ),
    max_leaves=12,
)
CUSTOM_FIELDS = st.lists(
    st.fixed_dictionaries(
        {"id": st.sampled_from(list(FIELD_IDS.values())) | st.integers() | st.text(max_size=4), "value": JSON}
    )
    | JSON,
    max_size=6,
)
RECORDS = st.dictionaries(
    st.sampled_from(SOURCE_KEYS) | st.text(max_size=10), JSON | CUSTOM_FIELDS, max_size=len(SOURCE_KEYS)
)
ALLOWED_TYPES = (int, bool, str, Decimal, date, datetime)


def assert_governance_values(value: Any) -> None:
    if isinstance(value, dict):
        for child in value.values():
            assert_governance_values(child)
    elif isinstance(value, list):
        assert all(isinstance(item, str) and item for item in value)
    else:
        assert isinstance(value, ALLOWED_TYPES)
        assert value != ""
        if isinstance(value, Decimal):
            assert value.is_finite()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=RECORDS, doc_index=st.sampled_from(range(len(DOCUMENTS))))
def test_inbound_programs_never_raise(record: dict[str, Any], doc_index: int) -> None:
    result = PROGRAMS[doc_index](record)
    assert_governance_values(result.fields)
    assert not any(UNEXPECTED_FAILURE in message for message in result.errors.values()), result.errors
    assert set(result.errors) <= set(GOVERNANCE_FIELDS)
    _typed, stored, errors = normalize(result.fields)
    assert len(fast_hash(stored, {**errors, **result.errors})) == 64


@settings(max_examples=100, deadline=None)
@given(record=JSON)
def test_inbound_programs_accept_any_json_value_as_record(record: Any) -> None:
    for program in PROGRAMS:
        program(record)


@settings(max_examples=100, deadline=None)
@given(
    view=st.dictionaries(st.sampled_from(["key", "state", "risk", "decision", "entitlement", "intake", "url"]), JSON)
)
def test_apply_outbound_never_raises(view: dict[str, Any]) -> None:
    for doc in DOCUMENTS:
        values = apply_outbound(doc, view)
        assert set(values) <= set(doc.outbound)


@settings(max_examples=150, deadline=None)
@given(
    data=st.dictionaries(
        st.sampled_from(["kind", "object", "select", "inbound", "outbound", "description"]) | st.text(max_size=5),
        JSON,
    )
    | st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["salesforce", "zendesk"]),
            "object": st.just("X__c"),
            "inbound": st.dictionaries(
                st.sampled_from(sorted(GOVERNANCE_FIELDS)) | st.text(max_size=8),
                JSON
                | st.dictionaries(
                    st.sampled_from(["from", "type", "map", "default", "strict", "split", "trim", "case"]), JSON
                ),
            ),
            "outbound": st.dictionaries(st.text(max_size=12), JSON),
        }
    )
)
def test_validation_and_loading_never_raise_unexpectedly(data: dict[str, Any]) -> None:
    kind = data.get("kind")
    dialect = DIALECTS[kind] if isinstance(kind, str) and kind in DIALECTS else DIALECTS["salesforce"]
    problems = validate_mapping(
        data, dialect, GOVERNANCE_FIELDS, OUTBOUND_PATHS, source_fields=["Name"], placeholders={}
    )
    try:
        doc = load_mapping(data)
    except MappingError as exc:
        assert exc.problems
        assert {p.rule for p in exc.problems} & {p.rule for p in problems}  # what loading refuses, validation too
        return
    structural = {"not_a_mapping", "unknown_key", "bad_rule", "unknown_type"}
    assert not any(p.rule in structural for p in problems)
    compile_inbound(doc, GOVERNANCE_FIELDS)({"Name": "x"})
    apply_outbound(doc, {"state": "approved"})
