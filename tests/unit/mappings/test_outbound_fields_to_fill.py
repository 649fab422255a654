"""What a rep is asked to fill is named in the CRM's terms: intake's governance fields, read back through the
connection's own inbound mapping; and the roles a request waits for are written as text."""

from __future__ import annotations

from mappings.defaults import default_mapping
from mappings.loading import load_mapping
from mappings.outbound import apply_outbound, fields_to_fill


def test_missing_invalid_and_conflicting_fields_become_the_source_fields_to_fill():
    intake = {
        "missing": ["use_case", "customer.name"],
        "errors": {"requested_terms.seats": "Not a valid integer."},
        "conflicts": [{"code": "end_before_start", "message": "…", "fields": ["requested_start", "requested_end"]}],
    }
    assert fields_to_fill(default_mapping("salesforce"), intake) == (
        "Use_Case__c, Account__r.Name, Requested_Seats__c, Requested_Start__c, Requested_End__c")


def test_a_group_stands_for_every_rule_under_it_and_unread_fields_are_left_out():
    doc = load_mapping("kind: salesforce\nobject: X__c\ninbound:\n  title: Name\n"
                       "  requested_terms.seats: Seats__c\n  requested_terms.regions: Regions__c\n")
    assert fields_to_fill(doc, {"missing": ["requested_terms", "use_case"], "errors": {}, "conflicts": []}) == (
        "Seats__c, Regions__c")
    assert fields_to_fill(doc, {"missing": [], "errors": {}, "conflicts": []}) == ""
    assert fields_to_fill(doc, None) == ""


def test_the_default_salesforce_mapping_writes_fields_to_fill_and_votes_waiting():
    view = {"state": "in_review", "intake": {"missing": ["justification"], "errors": {}, "conflicts": []},
            "review": {"required_roles": ["security", "finance"], "waiting": ["security", "finance"]}}
    values = apply_outbound(default_mapping("salesforce"), view)
    assert values["Missing_Fields__c"] == "Justification__c"
    assert values["Votes_Waiting__c"] == "security, finance"
    assert apply_outbound(default_mapping("salesforce"), {"review": {"waiting": []}})["Votes_Waiting__c"] is None
