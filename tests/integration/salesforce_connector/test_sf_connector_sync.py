"""Sync from Salesforce through the API: documented record shapes, pages, watermark, token renewal and limits."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from integration.salesforce_connector.mock_org import (
    INSTANCE,
    OBJECT,
    MockOrg,
    authorize_web,
    connection,
    record_id,
    requests_of,
    sf_record,
    stamp,
    sync,
    watermark,
)
from sqlalchemy import func, select

from connector.db import db
from connector.models import AuditEvent, Delivery, ExceptionRequest


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(ExceptionRequest)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action.like("request.%"))),
                db.session.scalar(select(func.count()).select_from(Delivery)))


def test_documented_shapes_map_into_requests(client, admin, org: MockOrg, connected) -> None:
    org.add(sf_record(1), sf_record(2, Account__r=None, Requested_Regions__c="EMEA;APAC;LATAM",
                                    Category__c="Something New"))
    result = sync(client, admin)
    assert (result["fetched"], result["created"], result["stopped"]) == (2, 2, None)
    soql = org.soql[-1]
    assert soql.startswith("SELECT Id, SystemModstamp, IsDeleted, Name, Category__c, Account__r.Name, ")
    assert soql.endswith(f"FROM {OBJECT} ORDER BY SystemModstamp, Id") and "WHERE" not in soql
    assert org.calls["query_all"] == 1 and org.calls["query"] == 0

    by_external = {r["external_id"]: r for r in requests_of(client, admin)}
    first = by_external[record_id(1)]
    assert first["title"] == "Five more seats for pilot 1"
    assert first["category"] == "seat_expansion"
    assert first["customer"] == {"name": "Acme GmbH", "account_id": "CD-1001", "segment": "Mid-Market"}
    assert first["requester"]["email"] == "rita@vendor.example"
    assert first["baseline_terms"]["seats"] == 100 and first["requested_terms"]["seats"] == 105
    assert first["requested_terms"]["regions"] == ["EMEA", "APAC"]
    assert Decimal(first["revenue_impact"]["amount"]) == 500 and first["revenue_impact"]["currency"] == "EUR"
    assert first["user_base"] == 5
    assert first["external_url"] == f"{INSTANCE}/lightning/r/{OBJECT}/{record_id(1)}/view"
    assert first["source"] == "salesforce" and first["connection"] == "sf" and first["mapping_version"] == 1
    assert first["state"] == "in_review"

    second = by_external[record_id(2)]
    assert second["customer"].get("name") is None and second["requested_terms"]["regions"] == ["EMEA", "APAC", "LATAM"]
    assert second["state"] == "needs_info" and "category" in second["intake"]["errors"]
    # record 1 (09:07) lies outside the 5-minute look-back of 09:14: only record 2 is remembered
    assert watermark(client.application) == {"system_modstamp": stamp(14),
                                              "last_ids": [f"{record_id(2)}@{stamp(14)}"]}
    assert connection(client, admin)["settings"]["api_usage_share"] > 0


def test_pages_joined_by_next_records_url_each_committed(client, admin, org: MockOrg, connected, app) -> None:
    org.page_size = 2
    org.add(*(sf_record(n) for n in range(1, 6)))
    result = sync(client, admin)
    assert (result["fetched"], result["created"], result["pages"]) == (5, 5, 3)
    assert org.calls["query_all"] == 1 and org.calls["query_more"] == 2
    assert result["http_calls"] == 3
    assert watermark(app)["system_modstamp"] == stamp(35)


def test_lookback_overlap_and_deduplication(client, admin, org: MockOrg, connected, app) -> None:
    org.add(*(sf_record(n, minutes=60 + n) for n in range(1, 4)))  # 09:01 … 09:03 after the hour
    assert sync(client, admin)["created"] == 3
    before = counts(app)

    again = sync(client, admin)
    assert org.soql[-1].split(" WHERE ")[1].startswith("SystemModstamp >= 2026-11-01T09:58:00Z ORDER BY")
    assert (again["fetched"], again["created"], again["updated"]) == (0, 0, 0)
    assert again["detail"]["skipped_already_seen"] == 3
    assert counts(app) == before

    # a late commit inside the overlap (earlier SystemModstamp than the watermark) is still picked up
    org.add(sf_record(9, minutes=62.5))
    late = sync(client, admin)
    assert (late["fetched"], late["created"]) == (1, 1)
    assert watermark(app)["system_modstamp"] == stamp(63)


def test_resync_of_unchanged_records_changes_nothing(client, admin, org: MockOrg, connected, app) -> None:
    org.add(*(sf_record(n) for n in range(1, 4)))
    sync(client, admin)
    before = counts(app)
    # the write-back (or any edit of an unmapped field) moves SystemModstamp without changing mapped values
    for n in range(1, 4):
        org.records[record_id(n)].update(SystemModstamp=stamp(600 + n), Governance_Key__c=f"LEX-{n}")
    again = sync(client, admin)
    assert (again["fetched"], again["unchanged"], again["created"], again["updated"]) == (3, 3, 0, 0)
    assert counts(app) == before


def test_changed_record_updates_and_deleted_record_withdraws(client, admin, org: MockOrg, connected) -> None:
    org.add(sf_record(1), sf_record(2))
    sync(client, admin)
    org.records[record_id(1)].update(SystemModstamp=stamp(100), Requested_Seats__c=120.0)
    org.records[record_id(2)].update(SystemModstamp=stamp(101), IsDeleted=True)
    result = sync(client, admin)
    assert (result["updated"], result["withdrawn"]) == (1, 1)
    assert result["detail"]["deleted_in_source"] == 1
    states = {r["external_id"]: r for r in requests_of(client, admin)}
    assert states[record_id(1)]["requested_terms"]["seats"] == 120
    assert states[record_id(2)]["state"] == "withdrawn"


def test_expired_session_is_renewed_once_and_the_call_retried(client, admin, org: MockOrg, connected, app) -> None:
    org.add(sf_record(1))
    org.expire_sessions()
    result = sync(client, admin)
    assert result["created"] == 1 and result["stopped"] is None
    refresh = org.token_requests[-1]
    assert refresh["grant_type"] == ["refresh_token"]
    assert org.calls["query_all"] == 2  # 401 INVALID_SESSION_ID, then the same query with the new token
    with app.app_context():
        from connector import connections

        conn = connections.find("sf")
        assert conn is not None and conn.token is not None
        assert conn.token["access_token"] == org.issued[-1] and conn.token["refresh_token"] == org.issued[1]


def test_invalid_grant_needs_authorization_and_loses_nothing(client, admin, org: MockOrg, connected, app) -> None:
    org.page_size = 2
    org.add(*(sf_record(n) for n in range(1, 6)))
    org.after_first_page = org.revoke_refresh_tokens  # an admin revokes the app's tokens mid-backfill
    result = sync(client, admin)
    assert "authorize the connection again" in result["stopped"] and "nothing is lost" in result["stopped"]
    view = connection(client, admin)
    assert view["status"] == "needs_authorization" and "invalid_grant" in view["status_detail"]
    assert sorted(r["external_id"] for r in requests_of(client, admin)) == [record_id(1), record_id(2)]
    assert watermark(app)["system_modstamp"] == stamp(14)
    assert sync(client, admin)["stopped"].startswith("connection is needs_authorization")

    authorize_web(client, admin)
    resumed = sync(client, admin)
    assert org.soql[-1].split(" WHERE ")[1].startswith("SystemModstamp >= 2026-11-01T09:09:00Z")
    assert (resumed["created"], resumed["stopped"]) == (3, None)
    assert len(requests_of(client, admin)) == 5
    assert connection(client, admin)["status"] == "connected"


def test_request_limit_exceeded_pauses_and_says_so(client, admin, org: MockOrg, connected) -> None:
    org.add(sf_record(1))
    org.fault("query_all", 403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    result = sync(client, admin)
    assert "daily API allocation is used up" in result["stopped"] and "REQUEST_LIMIT_EXCEEDED" in result["stopped"]
    view = connection(client, admin)
    assert view["status"] == "paused" and "rolling 24-hour window" in view["status_detail"]
    assert requests_of(client, admin) == []
    resumed = sync(client, admin)  # the window freed calls: syncing resumes
    assert resumed["created"] == 1 and connection(client, admin)["status"] == "connected"


def test_daily_share_brake_stops_between_pages_and_resumes(client, admin, org: MockOrg, connected, app) -> None:
    org.page_size = 2
    org.add(*(sf_record(n) for n in range(1, 5)))
    org.usage = [12990, 15000]  # the first page's Sforce-Limit-Info says 86.6 %, above the 80 % share
    result = sync(client, admin)
    assert "stopped at 87% of the daily API allocation" in result["stopped"]
    assert "above 80%" in result["stopped"]
    assert org.calls["query_more"] == 0 and len(requests_of(client, admin)) == 2
    view = connection(client, admin)
    assert view["status"] == "paused" and view["settings"]["api_usage_share"] > 0.8

    calls = sum(org.calls.values())
    blocked = sync(client, admin)  # still above: one /limits call, no query
    assert "stopped at" in blocked["stopped"] and org.calls["limits"] == 1
    assert sum(org.calls.values()) == calls + 1

    org.usage = [3000, 15000]  # the rolling window freed calls
    resumed = sync(client, admin)
    assert (resumed["created"], resumed["stopped"]) == (2, None) and org.calls["limits"] == 2
    assert connection(client, admin)["status"] == "connected"


def test_mapping_object_must_agree_with_the_connection(client, admin, org: MockOrg, connected) -> None:
    r = client.patch("/api/v1/connections/sf", headers=admin, json={"settings": {"object": "Opportunity"}})
    assert r.status_code == 200
    result = sync(client, admin)
    assert "mapping reads License_Exception_Request__c" in result["stopped"]
    assert "object setting is Opportunity" in result["stopped"]
    assert org.calls["query_all"] == 0 and connection(client, admin)["status"] == "error"


def test_preview_fetches_a_live_record_with_the_mappings_fields(client, admin, org: MockOrg, connected) -> None:
    org.add(sf_record(4, Requested_Start__c=(date.today() + timedelta(days=3)).isoformat()))
    r = client.post("/api/v1/connections/sf/mapping/preview", headers=admin, json={"external_id": record_id(4)})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["request"]["customer"]["name"] == "Acme GmbH"
    assert "WHERE Id IN ('" + record_id(4) + "')" in org.soql[-1]
    missing = client.post("/api/v1/connections/sf/mapping/preview", headers=admin,
                          json={"external_id": record_id(77)})
    assert missing.status_code == 409 and "is visible to the connector's user" in missing.get_json()["message"]
    assert requests_of(client, admin) == []


def test_live_mapping_validation_uses_describe(client, admin, org: MockOrg, connected) -> None:
    current = client.get("/api/v1/connections/sf/mapping", headers=admin).get_json()["mapping"]
    current["inbound"]["use_case"] = "Use_Case_Typo__c"
    r = client.put("/api/v1/connections/sf/mapping", headers=admin, json=current)
    assert r.status_code == 422
    problems = r.get_json()["details"]["problems"]
    assert any(p["field"] == "inbound.use_case" and p["rule"] == "unknown_source_field" for p in problems)
    assert org.calls["describe"] == 1


def test_the_worker_sync_schedule_resumes_a_paused_connection(client, admin, org: MockOrg, connected, app) -> None:
    from datetime import timedelta

    import time_machine

    from connector import worker
    from connector.models import utcnow

    org.add(sf_record(1))
    assert sync(client, admin)["created"] == 1
    org.add(sf_record(2, minutes=30))
    org.fault("query_all", 403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    assert "REQUEST_LIMIT_EXCEEDED" in sync(client, admin)["stopped"]
    assert connection(client, admin)["status"] == "paused"
    with app.app_context():
        assert worker.run_job("sync", worker.periodic_jobs()["sync"]) == {"queued": 0}  # synced moments ago
    assert len(requests_of(client, admin)) == 1
    with time_machine.travel(utcnow() + timedelta(minutes=6)), app.app_context():
        assert worker.run_job("sync", worker.periodic_jobs()["sync"]) == {"queued": 1}
        worker.run_worker(app, once=True)  # the connection's lane runs what the schedule queued
    assert len(requests_of(client, admin)) == 2
    assert connection(client, admin)["status"] == "connected"
