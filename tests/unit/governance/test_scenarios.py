"""Change-impact scenarios find exactly the exceptions they touch, with the term hit, why, and what to do."""

from __future__ import annotations

import random
from datetime import date

import pytest

from connector.governance.errors import InvalidInput
from connector.governance.scenarios import Subject, amended_grants, dump_scenario, impacts, load_scenario

FEATURES = ["sso", "audit_log", "api_access", "sandbox", "ai_assistant"]
REGIONS = ["NA", "EMEA", "APAC", "LATAM"]


def estate(count: int = 120, seed: int = 3) -> list[Subject]:
    """Active exceptions (with grants) and open requests (asking), seeded."""
    rng = random.Random(seed)
    subjects = []
    for number in range(count):
        terms = {"features": rng.sample(FEATURES, rng.randrange(0, 3)),
                 "regions": rng.sample(REGIONS, rng.randrange(0, 3))}
        active = number % 3 != 0
        subjects.append(Subject(f"id{number}", f"LEX-{1001 + number}", "approved" if active else "in_review",
                                requested=terms if not active else {"features": [], "regions": []},
                                granted=terms if active else None,
                                expires_at=date(2027, 1 + number % 12, 1) if active else None,
                                text="Runs on version 4.8 with Salesforce CPQ" if number % 10 == 0 else "internal"))
    return subjects


def test_a_removed_feature_finds_exactly_the_exceptions_granting_it():
    subjects = estate()
    scenario = load_scenario({"name": "SSO removed in 5.0", "kind": "feature_removed", "feature": "SSO",
                              "effective": "2027-03-01"})
    found = impacts(scenario, subjects)
    granting = {s.key for s in subjects if s.granted is not None and "sso" in s.granted["features"]}
    asking = {s.key for s in subjects if s.granted is None and "sso" in s.requested["features"]}
    assert {i.subject.key for i in found} == granting | asking and granting
    for impact in found:
        if impact.subject.granted is not None:
            assert impact.hits == ("granted features",)
            lasting = impact.subject.expires_at >= date(2027, 3, 1)
            assert impact.suggestion == ("amend" if lasting else "notify")
        else:
            assert impact.hits == ("requested features",) and impact.suggestion == "notify"
        assert impact.why == "feature SSO is removed on 2027-03-01"


def test_a_withdrawn_region_finds_exactly_the_exceptions_with_it():
    subjects = estate()
    scenario = load_scenario({"name": "APAC withdrawn", "kind": "region_withdrawn", "region": "apac",
                              "effective": "2027-01-15"})
    found = {i.subject.key: i for i in impacts(scenario, subjects)}
    expected = {s.key for s in subjects if "APAC" in ((s.granted or {}).get("regions") or s.requested["regions"])}
    assert set(found) == expected
    only_apac = [i for i in found.values() if i.subject.granted and i.subject.granted["regions"] == ["APAC"]
                 and i.subject.expires_at >= date(2027, 1, 15)]
    assert only_apac and all(i.suggestion == "revoke" for i in only_apac)


def test_versions_and_integrations_are_found_in_the_text_and_say_so():
    subjects = estate()
    eol = impacts(load_scenario({"name": "4.8 EOL", "kind": "version_end_of_life", "version": "4.8",
                                 "effective": "2027-06-30"}), subjects)
    assert {i.subject.key for i in eol} == {s.key for s in subjects if "4.8" in s.text}
    assert all(i.hits == ("named in the terms or use case",) for i in eol)
    cpq = impacts(load_scenario({"name": "CPQ v3", "kind": "integration_changed", "integration": "salesforce cpq",
                                 "effective": "2027-02-01"}), subjects)
    assert len(cpq) == len(eol) and all(i.suggestion == "notify" for i in cpq)


def test_a_price_change_touches_exceptions_with_a_price():
    priced = Subject("p", "LEX-9", "approved", {}, {"price": "90.00", "seats": 5}, date(2027, 12, 31))
    unpriced = Subject("u", "LEX-8", "approved", {}, {"seats": 5}, date(2027, 12, 31))
    [impact] = impacts(load_scenario({"name": "List +10%", "kind": "price_change", "new_list_price": "110",
                                      "effective": "2027-01-01"}), [priced, unpriced])
    assert impact.subject.key == "LEX-9" and impact.suggestion == "renew"
    assert impact.to_dict()["why"] == "the list price becomes 110 on 2027-01-01; the exception's price is 90.00"


def test_a_scenario_names_what_its_kind_needs():
    with pytest.raises(InvalidInput) as caught:
        load_scenario({"name": "x", "kind": "feature_renamed", "feature": "sso", "effective": "2027-01-01"})
    assert "renamed_to" in caught.value.details["fields"]
    with pytest.raises(InvalidInput) as caught:
        load_scenario({"name": "x", "kind": "meteor", "effective": "soon"})
    assert {"kind", "effective"} <= set(caught.value.details["fields"])


def test_an_amendment_takes_out_or_renames_what_the_scenario_changes():
    grants = {"features": ["SSO", "audit_log"], "regions": ["APAC"], "seats": 5}
    removed = load_scenario({"name": "x", "kind": "feature_removed", "feature": "sso", "effective": "2027-01-01"})
    assert amended_grants(removed, grants) == {"features": ["audit_log"], "regions": ["APAC"], "seats": 5}
    renamed = load_scenario({"name": "x", "kind": "feature_renamed", "feature": "sso", "renamed_to": "identity",
                             "effective": "2027-01-01"})
    assert amended_grants(renamed, grants)["features"] == ["audit_log", "identity"]
    region = load_scenario({"name": "x", "kind": "region_withdrawn", "region": "apac", "effective": "2027-01-01"})
    assert "regions" not in amended_grants(region, grants) and grants["regions"] == ["APAC"]
    price = load_scenario({"name": "x", "kind": "price_change", "new_list_price": "10", "effective": "2027-01-01"})
    assert amended_grants(price, grants) == grants
    assert dump_scenario(price) == {"name": "x", "kind": "price_change", "new_list_price": "10",
                                    "effective": "2027-01-01"}
