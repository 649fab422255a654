"""Admins in the UI: connections, the mapping editor with preview, the policy editor, deliveries, audit, metrics."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from sqlalchemy import func, select

from connector.db import db
from connector.models import AuditEvent, AuditSample, Connection, Delivery, ExceptionRequest, MappingVersion, utcnow
from connector.policy_store import current_policy, current_version

SF_SETTINGS = {"client_id": "3MVG9example", "client_secret": "not-in-clear-please",
               "login_url": "https://login.salesforce.com"}
RECORD = {
    "attributes": {"type": "License_Exception_Request__c", "url": "/services/data/v62.0/sobjects/x/a0X1"},
    "Id": "a0X000000000001AAA", "Name": "More seats for Acme", "Category__c": "Seat Expansion",
    "Account__r": {"attributes": {"type": "Account"}, "Name": "Acme GmbH"},
    "Requester__r": {"attributes": {"type": "User"}, "Name": "Rita", "Email": "rita@vendor.example"},
    "Baseline_Seats__c": 100.0, "Requested_Seats__c": 105.0, "Use_Case__c": "Pilot team",
    "Revenue_Impact__c": 500.0, "CurrencyIsoCode": "USD", "Data_Sensitivity__c": "Internal", "User_Base__c": 5.0,
    "Requested_Start__c": "2026-12-01", "Requested_End__c": "2026-12-31",
    "SystemModstamp": "2026-11-20T10:30:00.000+0000", "IsDeleted": False,
}


@pytest.fixture
def admin(signed_in):
    return signed_in("admin")


@pytest.fixture
def sf_connection(app):
    from connector import connections

    with app.app_context():
        connections.create("sf-prod", "salesforce", SF_SETTINGS, "test")
        db.session.commit()
    return "sf-prod"


def audit_count(app, action):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_add_a_connection_with_settings_errors_shown_on_the_form(app, admin, csrf):
    token = csrf(admin.get("/admin/connections").get_data(as_text=True))
    r = admin.post("/admin/connections", data={"csrf_token": token, "name": "Bad Name!", "kind": "salesforce",
                                               "settings": "client_id: x"})
    assert r.status_code == 422 and "Use lowercase letters, digits, - and _." in r.get_data(as_text=True)
    r = admin.post("/admin/connections", data={"csrf_token": token, "name": "sf-prod", "kind": "salesforce",
                                               "settings": "login_url: not a url\nclient_id: x"})
    assert r.status_code == 422 and "settings.login_url" in r.get_data(as_text=True)
    r = admin.post("/admin/connections", data={"csrf_token": token, "name": "sf-prod", "kind": "salesforce",
                                               "settings": "client_id: [unclosed"})
    assert r.status_code == 422
    assert "The settings text is not valid YAML at line 1, column 21" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Connection)) == 0
    r = admin.post("/admin/connections", data={"csrf_token": token, "name": "sf-prod", "kind": "salesforce",
                                               "settings": yaml.safe_dump(SF_SETTINGS)})
    assert r.status_code == 303
    html = admin.get("/admin/connections").get_data(as_text=True)
    assert "sf-prod" in html and "needs authorization" in html and "not-in-clear-please" not in html


def test_add_a_connection_refuses_settings_authorization_records(app, admin, csrf):
    token = csrf(admin.get("/admin/connections").get_data(as_text=True))
    r = admin.post("/admin/connections", data={"csrf_token": token, "name": "sf-prod", "kind": "salesforce",
                                               "settings": yaml.safe_dump({**SF_SETTINGS,
                                                                           "org_id": "00D5g000009OtHeRAA"})})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "settings.org_id: Read-only." in html and "cannot be set by an admin" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Connection)) == 0


def test_connect_starts_the_oauth_flow_and_sync_says_why_it_cannot_run(app, admin, sf_connection, csrf):
    token = csrf(admin.get("/admin/connections").get_data(as_text=True))
    r = admin.post(f"/admin/connections/{sf_connection}/connect", data={"csrf_token": token})
    assert r.status_code == 303
    location = urlsplit(r.headers["Location"])
    assert location.netloc == "login.salesforce.com" and location.path == "/services/oauth2/authorize"
    query = parse_qs(location.query)
    assert query["code_challenge_method"] == ["S256"] and query["state"][0]
    assert query["redirect_uri"] == ["http://connector.test/oauth/callback"]
    assert audit_count(app, "connection.authorization_started") == 1
    r = admin.post(f"/admin/connections/{sf_connection}/sync", data={"csrf_token": token})
    assert r.status_code == 303
    page = admin.get("/admin/connections").get_data(as_text=True)
    assert "not started: the connection is needs authorization" in page


def test_broken_mapping_is_refused_with_each_problem_inline(app, admin, sf_connection, csrf):
    page = admin.get(f"/admin/connections/{sf_connection}/mapping").get_data(as_text=True)
    assert "License_Exception_Request__c" in page
    with app.app_context():
        from connector import connections

        document = connections.current_mapping(connections.find(sf_connection))[1].to_yaml()
    broken = document.replace("inbound:\n", "inbound:\n  customer.shoe_size: Shoe__c\n", 1)
    broken = broken.replace("outbound:\n", "outbound:\n  Weird__c: decision.mood\n", 1)
    before = audit_count(app, "mapping.changed")
    r = admin.post(f"/admin/connections/{sf_connection}/mapping",
                   data={"csrf_token": csrf(page), "document": broken, "save": "Save mapping"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    shoe_line = broken.splitlines().index("  customer.shoe_size: Shoe__c") + 1
    assert f"<code>inbound.customer.shoe_size</code> <span class=\"muted\">(line {shoe_line})</span>" in html
    assert "[unknown_target]" in html and "<code>outbound.Weird__c</code>" in html
    assert "customer.shoe_size: Shoe__c" in html  # the editor keeps what the admin typed
    assert audit_count(app, "mapping.changed") == before
    with app.app_context():
        assert db.session.scalar(select(Connection.mapping_version)) == 1
    r = admin.post(f"/admin/connections/{sf_connection}/mapping",
                   data={"csrf_token": csrf(page), "document": broken, "check": "Check"})
    assert r.status_code == 422 and "The mapping has 2 problem(s)." in r.get_data(as_text=True)
    changed = document.replace("default: USD", "default: EUR")
    assert changed != document
    r = admin.post(f"/admin/connections/{sf_connection}/mapping",
                   data={"csrf_token": csrf(page), "document": changed, "save": "Save mapping"})
    assert r.status_code == 303
    assert "Mapping version 2 saved" in admin.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MappingVersion)) == 2


def test_preview_maps_a_pasted_record_and_writes_nothing(app, admin, sf_connection, csrf):
    page = admin.get(f"/admin/connections/{sf_connection}/mapping").get_data(as_text=True)
    document = re.search(r"<textarea[^>]*name=\"document\"[^>]*>\n?(.*?)</textarea>", page, re.S).group(1)
    import html as html_lib

    document = html_lib.unescape(document)
    with app.app_context():
        before = (db.session.scalar(select(func.count()).select_from(ExceptionRequest)),
                  db.session.scalar(select(func.count()).select_from(AuditEvent)))
    r = admin.post(f"/admin/connections/{sf_connection}/mapping", data={
        "csrf_token": csrf(page), "document": document, "record": json.dumps(RECORD), "preview": "Preview"})
    assert r.status_code == 200, r.get_data(as_text=True)
    html = r.get_data(as_text=True)
    assert "Preview result" in html and "&#34;name&#34;: &#34;Acme GmbH&#34;" in html
    assert "track <strong>fast</strong>" in html
    r = admin.post(f"/admin/connections/{sf_connection}/mapping", data={
        "csrf_token": csrf(page), "document": document, "record": "{not json", "preview": "Preview"})
    assert r.status_code == 422 and "Not valid JSON" in r.get_data(as_text=True)
    r = admin.post(f"/admin/connections/{sf_connection}/mapping", data={
        "csrf_token": csrf(page), "document": document, "preview": "Preview"})
    assert r.status_code == 422 and "Paste a record or give a live record id" in r.get_data(as_text=True)
    with app.app_context():
        assert before == (db.session.scalar(select(func.count()).select_from(ExceptionRequest)),
                          db.session.scalar(select(func.count()).select_from(AuditEvent)))


def test_policy_editor_names_each_problem_by_path_and_line(app, admin, csrf):
    page = admin.get("/admin/policy").get_data(as_text=True)
    document = current_policy_text(app)
    broken = document.replace("chair: licensing", "chair: finance").replace("max_duration_days: 730",
                                                                            "max_duration_days: 0")
    r = admin.post("/admin/policy", data={"csrf_token": csrf(page), "document": broken, "save": "Save policy"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    chair_line = next(i for i, line in enumerate(broken.splitlines(), 1) if "chair: finance" in line)
    assert f"<code>committee.chair</code> <span class=\"muted\">(line {chair_line})</span>" in html
    assert "<code>exceptions.max_duration_days</code>" in html
    r = admin.post("/admin/policy", data={"csrf_token": csrf(page), "document": "categories: [", "check": "Check"})
    assert r.status_code == 422 and "not valid YAML" in r.get_data(as_text=True)
    with app.app_context():
        assert current_version() == 1
    shorter = document.replace("max_duration_days: 730", "max_duration_days: 365")
    r = admin.post("/admin/policy", data={"csrf_token": csrf(page), "document": shorter, "save": "Save policy"})
    assert r.status_code == 303
    assert "Policy version 2 is in force." in admin.get("/admin/policy").get_data(as_text=True)
    with app.app_context():
        assert current_version() == 2 and current_policy().max_duration_days == 365


def current_policy_text(app):
    with app.app_context():
        return current_policy().document


def test_dead_deliveries_can_be_retried(app, admin, submit, small, csrf):
    key = submit(small)
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        db.session.add(Delivery(request_pk=req.pk, target="billing", change="decided", version=1,
                                message_id="msg_dead_1", payload={}, status="dead", attempts=7,
                                last_error="HTTP 503 from billing", last_status_code=503,
                                next_attempt_at=utcnow(), deadline=utcnow() - timedelta(hours=1)))
        db.session.commit()
        delivery_id = db.session.scalar(select(Delivery.id))
    page = admin.get("/admin/deliveries").get_data(as_text=True)
    assert "HTTP 503 from billing" in page and f"Retry<span class=\"sr-only\"> delivery {delivery_id}" in page
    r = admin.post(f"/admin/deliveries/{delivery_id}/retry", data={"csrf_token": csrf(page)})
    assert r.status_code == 303
    with app.app_context():
        row = db.session.get(Delivery, delivery_id)
        assert row.status == "pending" and row.deadline > utcnow()
    assert audit_count(app, "delivery.retry_requested") == 1
    assert admin.post("/admin/deliveries/999/retry", data={"csrf_token": csrf(page)}).status_code == 404


def test_audit_verifies_the_chain_and_draws_samples(app, signed_in, submit, small, csrf):
    submit(small)
    auditor = signed_in("auditor", email="audra@vendor.example")
    html = auditor.get("/audit/verify").get_data(as_text=True)
    assert re.search(r"Intact: \d+ events recomputed", html)
    page = auditor.get("/audit").get_data(as_text=True)
    r = auditor.post("/audit/samples", data={"csrf_token": csrf(page), "size": "0"})
    assert r.status_code == 422 and "Number must be between 1 and 1000." in r.get_data(as_text=True)
    r = auditor.post("/audit/samples", data={"csrf_token": csrf(page), "size": "3", "seed": "q4-review"})
    assert r.status_code == 303
    assert "0 of 0 approved exceptions" in auditor.get(r.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        sample = db.session.scalar(select(AuditSample))
        assert sample.seed == "q4-review" and sample.created_by == "audra@vendor.example"


def test_metrics_page_draws_svg_charts_from_local_assets_only(signed_in, submit, small, large, csrf):
    key = submit(small)
    submit(large)
    chair = signed_in("reviewer", "licensing")
    page = chair.get(f"/requests/{key}").get_data(as_text=True)
    chair.post(f"/requests/{key}/decision", data={"csrf_token": csrf(page), "outcome": "denied", "rationale": "No",
                                                  "renewal_mode": "manual", "submit": "Record decision"})
    r = chair.get("/reports")
    html = r.get_data(as_text=True)
    assert html.count("<svg class=\"chart\"") == 5  # time, SLA, outcomes, backlog, expiries by month
    assert "Outcomes by category" in html and "seat expansion, denied: 1" in html
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_the_ui_follows_the_url_prefix(database_url):
    from support.database import app_config

    from connector import create_app

    app = create_app(app_config(database_url, CONNECTOR_URL_PREFIX="/lec"))
    try:
        client = app.test_client()
        html = client.get("/lec/sign-in").get_data(as_text=True)
        assert 'href="/lec/assets/connector.css"' in html and 'action="/lec/sign-in"' in html
        assert client.get("/lec/assets/connector.css").status_code == 200
        assert client.get("/lec/queue").headers["Location"].startswith("/lec/sign-in")
        assert client.get("/lec/api/v1/health").status_code == 200
    finally:
        with app.app_context():
            db.engine.dispose()


def test_an_admin_can_preview_the_default_mapping_of_a_fresh_zendesk_connection(app, admin, csrf):
    """The custom fields are not created yet, so every ``{placeholder}`` is unfilled: saving allows that, and
    so does preview (those rules read as missing)."""
    import html as html_lib

    from connector import connections

    with app.app_context():
        connections.create("zd-new", "zendesk", {"subdomain": "acme", "client_id": "lec", "client_secret": "s"},
                           "test")
        db.session.commit()
    page = admin.get("/admin/connections/zd-new/mapping").get_data(as_text=True)
    document = html_lib.unescape(
        re.search(r"<textarea[^>]*name=\"document\"[^>]*>\n?(.*?)</textarea>", page, re.S).group(1))
    assert "{category}" in document
    ticket = {"id": 1001, "subject": "Northwind needs 120 seats", "description": "20 analysts join.",
              "tags": ["license_exception"], "custom_fields": [],
              "organization": {"name": "Northwind Analytics", "external_id": "ACC-1"}}

    r = admin.post("/admin/connections/zd-new/mapping", data={
        "csrf_token": csrf(page), "document": document, "record": json.dumps(ticket), "preview": "Preview"})

    assert r.status_code == 200, r.get_data(as_text=True)
    html = r.get_data(as_text=True)
    assert "Preview result" in html and "Fix the mapping before previewing" not in html
    assert "&#34;name&#34;: &#34;Northwind Analytics&#34;" in html
    unfilled = re.search(r'data-testid="unfilled-placeholders">(.*?)</ul>', html, re.S)
    assert unfilled and "{category}" in html_lib.unescape(unfilled.group(1))
