"""Write-back through sObject Collections: one call per 200 records, one outcome per record."""

from __future__ import annotations

from datetime import date, timedelta

from integration.salesforce_connector.mock_org import (
    OBJECT,
    MockOrg,
    authorize_web,
    connection,
    record_id,
    requests_of,
    sf_record,
    sync,
)
from sqlalchemy import select, update

from connector import delivery
from connector.db import db
from connector.models import Delivery, ExceptionRequest, utcnow

ROLES = ("licensing", "legal", "product", "sales", "security")


def drain(app) -> dict[str, int]:
    with app.app_context():
        return delivery.drain()


def rows(app) -> dict[str, Delivery]:
    """The latest delivery per Salesforce record id."""
    with app.app_context():
        found = db.session.execute(select(Delivery, ExceptionRequest.external_id).join(ExceptionRequest)
                                   .order_by(Delivery.id)).all()
        db.session.expunge_all()
        return {external_id: row for row, external_id in found}


def make_due(app) -> None:
    with app.app_context():
        db.session.execute(update(Delivery).where(Delivery.status == "pending").values(next_attempt_at=utcnow()))
        db.session.commit()


def test_one_call_for_all_and_per_record_outcomes(client, admin, org: MockOrg, connected, app) -> None:
    org.add(*(sf_record(n) for n in range(1, 4)))
    sync(client, admin)
    org.fail_record(record_id(2), "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
    org.fail_record(record_id(3), "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Governance fields are locked in approval")

    totals = drain(app)
    assert (totals["delivered"], totals["retry"], totals["dead"]) == (1, 1, 1)
    assert org.calls["collections"] == 1 and len(org.collection_bodies[0]["records"]) == 3
    sent = org.collection_bodies[0]["records"][0]
    assert sent["attributes"] == {"type": OBJECT} and sent["id"] == record_id(1)
    assert sent["Governance_Status__c"] == "in_review" and sent["Governance_Key__c"].startswith("LEX-")
    assert sent["Governance_URL__c"].startswith("http://connector.test/")
    state = rows(app)
    assert state[record_id(1)].status == "delivered"
    assert state[record_id(2)].status == "pending" and "UNABLE_TO_LOCK_ROW" in state[record_id(2)].last_error
    assert state[record_id(3)].status == "dead"
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION: Governance fields are locked" in state[record_id(3)].last_error
    assert org.records[record_id(1)]["Governance_Status__c"] == "in_review"
    assert "Governance_Status__c" not in org.records[record_id(3)]

    make_due(app)
    assert drain(app)["delivered"] == 1
    assert [r["id"] for r in org.collection_bodies[1]["records"]] == [record_id(2)]  # retried alone
    assert rows(app)[record_id(2)].status == "delivered"


def test_decision_fields_are_written_back(client, admin, org: MockOrg, connected, app, token_for) -> None:
    org.add(sf_record(1), sf_record(2))
    sync(client, admin)
    committee = {role: token_for("reviewer", role, name=f"sf-{role}") for role in ROLES}
    target = next(r for r in requests_of(client, admin) if r["external_id"] == record_id(1))
    for role in ROLES:
        assert client.post(f"/api/v1/requests/{target['id']}/votes", headers=committee[role],
                           json={"role": role, "vote": "approve", "rationale": "fine"}).status_code == 201
    expires = (date.today() + timedelta(days=90)).isoformat()
    r = client.post(f"/api/v1/requests/{target['id']}/decision", headers=committee["licensing"], json={
        "outcome": "approved", "rationale": "A short pilot that leads to an upsell.",
        "entitlement": {"grants": {"seats": 105}, "expires_at": expires}})
    assert r.status_code == 201, r.get_json()

    assert drain(app)["delivered"] == 2
    assert org.calls["collections"] == 1  # the decision superseded the unsent "created" write-back
    written = org.records[record_id(1)]
    assert (written["Governance_Status__c"], written["Decision__c"]) == ("approved", "approved")
    assert written["Decision_Rationale__c"] == "A short pilot that leads to an upsell."
    assert written["Entitlement_Expires__c"] == expires
    assert written["Entitlement_Effective__c"] == date.today().isoformat()
    assert "seats" in written["Granted_Boundaries__c"] and written["Governance_Key__c"] == target["key"]
    assert org.records[record_id(2)]["Decision__c"] is None


def test_whole_call_unavailable_retries_after_retry_after(client, admin, org: MockOrg, connected, app) -> None:
    org.add(sf_record(1), sf_record(2))
    sync(client, admin)
    org.fault("collections", 503, [{"message": "Server temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
              {"Retry-After": "120"})
    before = utcnow()
    assert drain(app)["retry"] == 2
    for row in rows(app).values():
        assert row.status == "pending" and "SERVER_UNAVAILABLE" in row.last_error
        assert (row.next_attempt_at - before).total_seconds() >= 119
    assert connection(client, admin)["status"] == "connected"


def test_request_limit_exceeded_pauses_and_holds(client, admin, org: MockOrg, connected, app) -> None:
    org.add(sf_record(1))
    sync(client, admin)
    org.fault("collections", 403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    totals = drain(app)
    assert totals["held"] == 1
    view = connection(client, admin)
    assert view["status"] == "paused" and "daily API allocation is used up" in view["status_detail"]
    (row,) = rows(app).values()
    assert row.status == "pending" and row.attempts == 0  # held: not counted as an attempt


def test_invalid_grant_holds_deliveries_until_reauthorized(client, admin, org: MockOrg, connected, app) -> None:
    org.add(sf_record(1))
    sync(client, admin)
    org.revoke_refresh_tokens()
    assert drain(app)["held"] == 1
    assert connection(client, admin)["status"] == "needs_authorization"
    assert org.calls["collections"] == 1  # the 401; the refresh was refused with invalid_grant

    authorize_web(client, admin)
    make_due(app)
    assert drain(app)["delivered"] == 1
    assert org.records[record_id(1)]["Governance_Status__c"] == "in_review"


def test_deliver_batches_by_200_and_keeps_completed_results(client, admin, org: MockOrg, connected, app) -> None:
    """The kind itself, over more rows than one Collections call takes (the worker claims 200 at a time)."""
    from connector import connections
    from connector.sources import WriteBackItem, get_kind

    org.add(*(sf_record(n) for n in range(1, 203)))
    view = {"key": "LEX-1001", "state": "in_review", "track": "standard", "url": "http://connector.test/r/1"}
    batch = [WriteBackItem("created", {**view, "external_id": record_id(n)}) for n in range(1, 203)]
    batch.append(WriteBackItem("created", {**view, "external_id": record_id(1)}))
    batch.append(WriteBackItem("created", {**view, "external_id": None}))
    org.fault("collections", 0, None)
    org.fault("collections", 503, [{"message": "Server temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
              {"Retry-After": "30"})
    with app.app_context():
        conn = connections.find("sf")
        assert conn is not None
        ctx = connections.context(conn)
        db.session.commit()  # as the worker does: no transaction open while the source talks HTTP
        outcomes = get_kind("salesforce").deliver(ctx, batch)
    assert [len(b["records"]) for b in org.collection_bodies] == [200]
    assert [o.result for o in outcomes[:200]] == ["delivered"] * 200
    assert [(o.result, o.retry_after) for o in outcomes[200:202]] == [("retry", 30.0)] * 2
    assert outcomes[202].result == "delivered"  # the same record as the first row: written once for both
    assert outcomes[203].result == "dead" and "names no Salesforce record" in outcomes[203].detail
