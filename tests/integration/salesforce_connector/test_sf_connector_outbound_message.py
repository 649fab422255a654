"""Outbound Messages at ``POST /webhooks/salesforce/<name>``: verified against the org, stored, then acknowledged."""

from __future__ import annotations

from integration.salesforce_connector.mock_org import (
    MockOrg,
    create_connection,
    envelope,
    post,
    record_id,
    requests_of,
    sf_record,
)
from sqlalchemy import func, select

from connector.config import reconfigure
from connector.db import db
from connector.models import InboundEvent

ACK = "<Ack>true</Ack>"


def events(app) -> list[InboundEvent]:
    with app.app_context():
        return list(db.session.scalars(select(InboundEvent).order_by(InboundEvent.id)))


def test_message_is_stored_acknowledged_and_processed(client, admin, org: MockOrg, connected, app) -> None:
    org.add(sf_record(1), sf_record(2))
    r = post(client, envelope([record_id(1), record_id(2)], ["04l5g0000001AAAAA0", "04l5g0000001AAAAA1"]))
    assert r.status_code == 200 and r.mimetype == "text/xml"
    assert ACK in r.get_data(as_text=True)
    stored = events(app)
    assert [(e.event_key, e.external_id, e.status) for e in stored] == [
        ("notification:04l5g0000001AAAAA0", record_id(1), "pending"),
        ("notification:04l5g0000001AAAAA1", record_id(2), "pending")]
    assert org.calls["query_all"] == 0  # nothing fetched before the Ack

    from connector.sync import process_events

    with app.app_context():
        assert process_events() == {"processed": 2, "failed": 0}
    [fetch] = [q for q in org.soql if " WHERE Id IN " in q]  # both records in one query
    assert "Account__r.Name" in fetch and fetch.endswith("ORDER BY Id")
    assert fetch.split(" WHERE ")[1] == f"Id IN ('{record_id(1)}', '{record_id(2)}') ORDER BY Id"
    created = requests_of(client, admin)
    assert sorted(r["external_id"] for r in created) == [record_id(1), record_id(2)]
    assert all(r["customer"]["name"] == "Acme GmbH" for r in created)  # fetched with the mapping's fields
    assert {e.status for e in events(app)} == {"processed"}


def test_duplicate_notification_is_ignored_and_still_acknowledged(client, org: MockOrg, connected, app) -> None:
    body = envelope([record_id(1)], ["04l5g0000001BBBAA0"])
    assert ACK in post(client, body).get_data(as_text=True)
    again = post(client, body)  # Salesforce retries when it did not see the Ack
    assert again.status_code == 200 and ACK in again.get_data(as_text=True)
    assert len(events(app)) == 1


def test_message_from_another_org_is_refused(client, org: MockOrg, connected, app) -> None:
    r = post(client, envelope([record_id(1)], ["04l5g0000001CCCAA0"], org_id="00D5g000009OtHeRAA"))
    assert r.status_code == 403
    body = r.get_json()
    assert body["code"] == "org_mismatch" and "00D5g000009OtHeRAA" in body["message"]
    assert ACK not in r.get_data(as_text=True)
    assert events(app) == []


def test_malformed_or_foreign_messages_get_400(client, org: MockOrg, connected, app) -> None:
    for body in ("<soapenv:Envelope><unclosed>", "", '{"json": "is not SOAP"}',
                 '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "boom">]><x>&a;</x>',
                 envelope([record_id(1)], ["04l5g0000001DDDAA0"], sobject="Opportunity")):
        r = post(client, body)
        assert r.status_code == 400, body
        assert r.get_json()["code"] == "malformed_outbound_message"
    assert events(app) == []


def test_unauthorized_connection_refuses_messages(client, admin, org: MockOrg, app) -> None:
    create_connection(client, admin)
    r = post(client, envelope([record_id(1)], ["04l5g0000001EEEAA0"]))
    assert r.status_code == 403 and r.get_json()["code"] == "org_unknown"
    assert events(app) == []


def test_deleted_record_event_withdraws_the_request(client, admin, org: MockOrg, connected, app) -> None:
    reconfigure(app, CONNECTOR_PUSH_REFETCH_SECONDS=0)  # a record fetched lately is fetched again at once
    org.add(sf_record(3))
    post(client, envelope([record_id(3)], ["04l5g0000001FFFAA0"]))
    from connector.sync import process_events

    with app.app_context():
        process_events()
    org.records[record_id(3)]["IsDeleted"] = True
    post(client, envelope([record_id(3)], ["04l5g0000001FFFAA1"]))
    with app.app_context():
        assert process_events() == {"processed": 1, "failed": 0}
        assert db.session.scalar(select(func.count()).select_from(InboundEvent)) == 2
    (request,) = requests_of(client, admin)
    assert request["state"] == "withdrawn"


def test_a_record_that_cannot_be_ingested_fails_alone(client, admin, org: MockOrg, connected, app,
                                                      monkeypatch) -> None:
    from connector import sync

    org.add(sf_record(1), sf_record(2))
    post(client, envelope([record_id(1), record_id(2)], ["04l5g0000001GGGAA0", "04l5g0000001GGGAA1"]))
    ingest = sync.ingest

    def fragile(conn, records, counts, actor):
        records = list(records)
        if any(r.external_id == record_id(2) for r in records):
            raise ValueError("a record this mapping cannot take")
        return ingest(conn, records, counts, actor)

    monkeypatch.setattr(sync, "ingest", fragile)
    with app.app_context():
        assert sync.process_events() == {"processed": 1, "failed": 1}
    by_record = {e.external_id: e for e in events(app)}
    assert by_record[record_id(1)].status == "processed"
    assert by_record[record_id(2)].status == "pending" and by_record[record_id(2)].attempts == 1
    assert "cannot take" in by_record[record_id(2)].last_error
    assert [r["external_id"] for r in requests_of(client, admin)] == [record_id(1)]
