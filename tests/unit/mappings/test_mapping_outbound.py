"""Write-back values from a request's public view, and the one-line summaries CRM fields show."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from mappings import apply_outbound, load_mapping, summarize_grants, summarize_intake, zendesk_custom_fields

ALL_PATHS = {
    "Key__c": "key",
    "State__c": "state",
    "Track__c": "track",
    "Band__c": "risk.band",
    "Score__c": "risk.score",
    "Outcome__c": "decision.outcome",
    "Rationale__c": "decision.rationale",
    "Grants__c": "entitlement.grants_summary",
    "Effective__c": "entitlement.effective_from",
    "Expires__c": "entitlement.expires_at",
    "Missing__c": "intake.summary",
    "Url__c": "url",
}


def salesforce_doc() -> Any:
    return load_mapping({"kind": "salesforce", "object": "X__c", "inbound": {}, "outbound": ALL_PATHS})


def test_undecided_request_clears_decision_fields() -> None:
    view = {
        "key": "LEX-7",
        "state": "needs_info",
        "track": "standard",
        "risk": {"score": 3, "band": "high"},
        "decision": None,
        "entitlement": None,
        "intake": {
            "missing": ["customer.name", "use_case"],
            "errors": {"requester.email": "Not a valid email address."},
            "conflicts": [{"code": "seats_not_increased", "message": "Requested seats are not above the baseline."}],
        },
        "url": "https://connector.example/requests/LEX-7",
    }
    assert apply_outbound(salesforce_doc(), view) == {
        "Key__c": "LEX-7",
        "State__c": "needs_info",
        "Track__c": "standard",
        "Band__c": "high",
        "Score__c": 3,
        "Outcome__c": None,
        "Rationale__c": None,
        "Grants__c": None,
        "Effective__c": None,
        "Expires__c": None,
        "Missing__c": "Missing: customer.name, use_case. Invalid: requester.email (Not a valid email address.). "
        "Conflicts: seats_not_increased (Requested seats are not above the baseline.)",
        "Url__c": "https://connector.example/requests/LEX-7",
    }


def test_numbers_stay_numbers_and_dates_become_iso_days() -> None:
    view = {
        "risk": {"score": Decimal("2.50"), "band": "medium"},
        "entitlement": {
            "grants": {},
            "effective_from": date(2026, 12, 1),
            "expires_at": datetime(2027, 11, 30, 0, 0, tzinfo=UTC),
        },
    }
    values = apply_outbound(salesforce_doc(), view)
    assert values["Score__c"] == 2.5
    assert values["Effective__c"] == "2026-12-01"
    assert values["Expires__c"] == "2027-11-30"
    assert (
        apply_outbound(salesforce_doc(), {"entitlement": {"expires_at": "2027-11-30T00:00:00Z"}})["Expires__c"]
        == "2027-11-30"
    )
    assert apply_outbound(salesforce_doc(), {"entitlement": {"expires_at": "soon"}})["Expires__c"] is None


def test_empty_view_gives_none_everywhere() -> None:
    assert set(apply_outbound(salesforce_doc(), {}).values()) == {None}
    assert set(apply_outbound(salesforce_doc(), None).values()) == {None}  # type: ignore[arg-type]


def test_summarize_grants_matches_the_documented_line() -> None:
    entitlement = {
        "grants": {"seats": 105, "regions": ["EMEA", "APAC"], "term_end": "2027-06-30"},
        "effective_from": "2026-12-01",
        "expires_at": "2027-11-30",
        "conditions": [],
    }
    assert summarize_grants(entitlement) == (
        "seats: 105; regions: EMEA, APAC; term_end: 2027-06-30; valid 2026-12-01 to 2027-11-30"
    )


def test_summarize_grants_with_conditions_typed_values_and_open_window() -> None:
    entitlement = {
        "grants": {
            "price": Decimal("1234.50"),
            "term_end": date(2027, 6, 30),
            "other": "Embed in\nkiosk app",
            "features": [],
        },
        "expires_at": "2027-11-30",
        "conditions": ["Quarterly usage report", "No resale"],
    }
    assert summarize_grants(entitlement) == (
        "price: 1234.50; term_end: 2027-06-30; other: Embed in kiosk app; valid until 2027-11-30; "
        "conditions: Quarterly usage report, No resale"
    )
    assert summarize_grants(None) == ""
    assert summarize_grants({"grants": None}) == ""


def test_summarize_intake() -> None:
    assert summarize_intake({"missing": [], "errors": {}, "conflicts": []}) == ""
    assert summarize_intake(None) == ""
    assert summarize_intake({"missing": ["title"]}) == "Missing: title"
    assert (
        summarize_intake(
            {
                "errors": {"requested_terms.seats": ["Not a number.", "Must be positive."]},
                "conflicts": ["end_before_start"],
            }
        )
        == "Invalid: requested_terms.seats (Not a number. Must be positive.). Conflicts: end_before_start"
    )


def test_zendesk_keys_and_unresolved_placeholders() -> None:
    doc = load_mapping(
        {
            "kind": "zendesk",
            "inbound": {},
            "outbound": {"custom_fields.101": "state", "custom_fields.{decision}": "decision.outcome"},
        }
    )
    values = apply_outbound(doc, {"state": "in_review", "decision": None})
    assert values == {"custom_fields.101": "in_review"}
    assert zendesk_custom_fields(values) == [{"id": 101, "value": "in_review"}]


def test_malformed_view_values_do_not_raise() -> None:
    view: dict[str, Any] = {
        "risk": "high",
        "decision": ["approved"],
        "entitlement": {"grants": "everything", "effective_from": 5, "conditions": {"a": None}},
        "intake": {"missing": "title", "errors": ["x"], "conflicts": {"code": 1}},
        "key": {"nested": True},
        "url": float("nan"),
    }
    values = apply_outbound(salesforce_doc(), view)
    assert values["Band__c"] is None
    assert values["Grants__c"] == "valid from 5"
    assert values["Missing__c"] is None
    assert values["Url__c"] is None
    assert values["Key__c"] == "nested: yes"
