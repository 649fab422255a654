"""Field mappings per connection: versions, validation naming every problem, preview that writes nothing."""

from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import func, select

from connector.db import db
from connector.models import AuditEvent, ExceptionRequest
from mappings import default_mapping_text

SF_SETTINGS = {"client_id": "3MVG9example", "client_secret": "not-in-clear-please",
               "login_url": "https://login.salesforce.com"}

RECORD = {
    "attributes": {"type": "License_Exception_Request__c", "url": "/services/data/v62.0/sobjects/x/a0X1"},
    "Id": "a0X000000000001AAA", "Name": "More seats for Acme", "Category__c": "Seat Expansion",
    "Account__r": None, "Requester__r": {"attributes": {"type": "User"}, "Name": "Rita", "Email": "not-an-email"},
    "Baseline_Seats__c": 100.0, "Requested_Seats__c": 105.5, "Requested_Regions__c": "EMEA;APAC",
    "Use_Case__c": None, "Revenue_Impact__c": 500.0, "CurrencyIsoCode": "USD", "Data_Sensitivity__c": "Secret",
    "User_Base__c": 5.0, "Requested_Start__c": "2026-12-01", "Requested_End__c": "2026-12-31",
    "SystemModstamp": "2026-11-20T10:30:00.000+0000", "IsDeleted": False,
}


@pytest.fixture
def admin(token_for):
    return token_for("admin")


@pytest.fixture
def connection(client, admin):
    r = client.post("/api/v1/connections", headers=admin,
                    json={"name": "sf-prod", "kind": "salesforce", "settings": SF_SETTINGS})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(ExceptionRequest)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)))


def test_connection_secrets_are_write_only(client, admin, connection):
    assert connection["status"] == "needs_authorization"
    assert "client_secret" not in json.dumps(connection["settings"])
    assert connection["secrets_set"] == ["client_secret"]
    assert "not-in-clear-please" not in client.get("/api/v1/connections/sf-prod", headers=admin).get_data(as_text=True)
    assert client.post("/api/v1/connections", headers=admin, json={"name": "sf-prod", "kind": "salesforce",
                                                                   "settings": SF_SETTINGS}).status_code == 409
    bad = client.post("/api/v1/connections", headers=admin, json={"name": "Bad Name!", "kind": "jira"})
    assert bad.status_code == 422 and {"name", "kind"} <= set(bad.get_json()["details"]["fields"])


def test_new_connection_gets_the_default_mapping_as_version_1(client, admin, connection):
    body = client.get("/api/v1/connections/sf-prod/mapping", headers=admin).get_json()
    assert body["version"] == 1
    assert body["mapping"]["object"] == "License_Exception_Request__c"
    assert yaml.safe_load(body["yaml"])["inbound"]["title"] == "Name"


def test_refused_mapping_lists_every_problem_and_changes_nothing(app, client, admin, connection):
    doc = yaml.safe_load(default_mapping_text("salesforce"))
    doc["inbound"]["customer.shoe_size"] = "Shoe__c"
    doc["inbound"]["user_base"] = {"from": "User_Base__c", "type": "bigint"}
    doc["inbound"]["requested_terms.regions"] = {"from": "Requested_Regions__c", "splitt": ";"}
    doc["inbound"]["data_sensitivity"] = {"from": "Data_Sensitivity__c", "map": {}}
    doc["outbound"]["Weird__c"] = "decision.mood"
    before = counts(app)
    r = client.put("/api/v1/connections/sf-prod/mapping", headers=admin, json=doc)
    assert r.status_code == 422
    problems = {(p["field"], p["rule"]) for p in r.get_json()["details"]["problems"]}
    rules = {rule for _, rule in problems}
    assert {"unknown_target", "unknown_type", "unknown_transform", "empty_map", "unknown_outbound_path"} <= rules
    fields = r.get_json()["details"]["fields"]
    assert any("customer.shoe_size" in f for f in fields) and any("user_base" in f for f in fields)
    assert client.get("/api/v1/connections/sf-prod/mapping", headers=admin).get_json()["version"] == 1
    assert counts(app) == before


def test_yaml_put_creates_a_version_audited_with_a_diff(app, client, admin, connection):
    text = default_mapping_text("salesforce").replace("title: Name", "title: {from: Name, case: upper}")
    r = client.put("/api/v1/connections/sf-prod/mapping", headers=admin, data=text,
                   content_type="application/yaml")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["version"] == 2
    versions = client.get("/api/v1/connections/sf-prod/mapping/versions", headers=admin).get_json()["items"]
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["current"] is True
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mapping.changed")
                                   .order_by(AuditEvent.seq.desc())).first()
        assert event.data["version"] == 2
        assert event.data["diff"][0]["field"] == "inbound.title"


def test_preview_explains_needs_info_and_writes_nothing(app, client, admin, connection):
    before = counts(app)
    r = client.post("/api/v1/connections/sf-prod/mapping/preview", headers=admin, json={"record": RECORD})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["intake"]["state"] == "needs_info"
    assert "customer.name" in body["intake"]["missing"] and "use_case" in body["intake"]["missing"]
    errors = body["errors"]
    assert "requester.email" in errors and "requested_terms.seats" in errors and "data_sensitivity" in errors
    assert body["request"]["requested_terms"]["regions"] == ["EMEA", "APAC"]
    assert body["request"]["category"] == "seat_expansion"
    assert body["risk"]["band"] in ("low", "medium", "high", "critical")
    assert counts(app) == before


def test_preview_needs_exactly_one_input(client, admin, connection):
    r = client.post("/api/v1/connections/sf-prod/mapping/preview", headers=admin, json={})
    assert r.status_code == 422


def test_only_admins_change_mappings(client, token_for, connection):
    text = default_mapping_text("salesforce")
    for headers in (token_for("reviewer", "licensing"), token_for("intake")):
        r = client.put("/api/v1/connections/sf-prod/mapping", headers=headers, data=text,
                       content_type="application/yaml")
        assert r.status_code == 403


def test_mapping_cli(app, client, admin, connection, tmp_path):
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["connector", "mapping", "show", "sf-prod"])
    assert shown.exit_code == 0 and "License_Exception_Request__c" in shown.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(default_mapping_text("salesforce").replace("title: Name", "titel: Name"))
    result = runner.invoke(args=["connector", "mapping", "validate", "sf-prod", str(bad)])
    assert result.exit_code == 1 and "unknown_target" in result.output
    good = tmp_path / "good.yaml"
    good.write_text(default_mapping_text("salesforce"))
    assert "version 2" in runner.invoke(args=["connector", "mapping", "set", "sf-prod", str(good)]).output
    record = tmp_path / "record.json"
    record.write_text(json.dumps(RECORD))
    preview = runner.invoke(args=["connector", "mapping", "preview", "sf-prod", "--record", str(record)])
    assert preview.exit_code == 0 and json.loads(preview.output)["intake"]["state"] == "needs_info"
    listed = runner.invoke(args=["connector", "connections", "list"])
    assert "sf-prod\tsalesforce\tneeds_authorization" in listed.output


ZD_SETTINGS = {"subdomain": "acme", "client_id": "lec-connector", "client_secret": "zd-secret"}
TICKET = {
    "id": 1001, "subject": "Northwind needs 120 seats", "description": "A new team of 20 analysts joins the rollout.",
    "status": "open", "tags": ["license_exception"], "custom_fields": [{"id": 360099, "value": "whatever"}],
    "requester": {"id": 1, "name": "Ada Lovelace", "email": "ada@northwind.example.com"},
    "organization": {"id": 2, "name": "Northwind Analytics", "external_id": "ACC-10001",
                     "organization_fields": {"segment": "enterprise"}},
}


@pytest.fixture
def fresh_zendesk(client, admin):
    """A Zendesk connection whose custom fields are not created yet: every ``{placeholder}`` is unfilled."""
    r = client.post("/api/v1/connections", headers=admin,
                    json={"name": "zd-new", "kind": "zendesk", "settings": ZD_SETTINGS})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_preview_of_a_fresh_zendesk_connection_maps_what_it_can_and_names_the_unfilled_placeholders(
        app, client, admin, fresh_zendesk):
    from mappings import ZENDESK_PLACEHOLDER_FIELDS

    before = counts(app)
    default = yaml.safe_load(default_mapping_text("zendesk"))
    saved = client.put("/api/v1/connections/zd-new/mapping", headers=admin, json=default)
    assert saved.status_code == 200, saved.get_json()  # saving the default mapping is allowed…

    for body in ({"record": TICKET, "mapping": default}, {"record": TICKET}):  # …and so is previewing it
        r = client.post("/api/v1/connections/zd-new/mapping/preview", headers=admin, json=body)
        assert r.status_code == 200, r.get_json()
        result = r.get_json()
        assert result["mapping_problems"] == []
        assert result["request"]["title"] == "Northwind needs 120 seats"
        assert result["request"]["customer"]["name"] == "Northwind Analytics"
        assert result["intake"]["state"] == "needs_info" and "category" in result["intake"]["missing"]
        unfilled = result["unfilled_placeholders"]
        assert {u["placeholder"] for u in unfilled} == set(ZENDESK_PLACEHOLDER_FIELDS)
        assert {"field": "inbound.category", "placeholder": "category"}.items() <= next(
            u for u in unfilled if u["field"] == "inbound.category").items()
        assert all("{" + u["placeholder"] + "}" in u["message"] for u in unfilled)
    assert counts(app)[0] == before[0]


def test_preview_still_refuses_a_mapping_with_real_problems_and_says_which_placeholders_are_unfilled(
        client, admin, fresh_zendesk):
    doc = yaml.safe_load(default_mapping_text("zendesk"))
    doc["inbound"]["customer.shoe_size"] = "subject"
    r = client.post("/api/v1/connections/zd-new/mapping/preview", headers=admin,
                    json={"record": TICKET, "mapping": doc})
    assert r.status_code == 200, r.get_json()
    result = r.get_json()
    assert [(p["field"], p["rule"]) for p in result["mapping_problems"]] == [("inbound.customer.shoe_size",
                                                                               "unknown_target")]
    assert result["request"] is None and result["unfilled_placeholders"]
