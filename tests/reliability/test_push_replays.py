"""Pushes cannot burn the orgs' API quota.

A captured Zendesk webhook replayed 20 times with fresh ``X-Zendesk-Webhook-Invocation-Id``s (the one header a
replayer can change: the signature covers only the timestamp and the body) is stored and processed once, costs
one ticket fetch, and is still a duplicate for another web process on the same database. 50 forged Salesforce
Outbound Messages (the right org id, fresh notification ids) about 5 records cost at most one fetch of each
record per sync interval: one ``Id IN (…)`` query naming the 5 ids.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from flask import Flask
from flask.testing import FlaskClient
from integration.salesforce_connector.mock_org import (
    MockOrg,
    authorize_web,
    create_connection,
    envelope,
    post,
    record_id,
    sf_record,
)
from sqlalchemy import func, select, update
from support.database import app_config
from support.servers import serve

from adapters.zendesk.webhook import format_timestamp, sign
from connector import create_app, sync
from connector.api import webhooks
from connector.config import reconfigure
from connector.db import db
from connector.models import AuditEvent, InboundEvent, PushWindow, utcnow
from connector.observability import WEBHOOK_EVENTS

ZENDESK = "https://acme.zendesk.com"
SECRET = "cmVwbGF5LXRlc3Qtd2ViaG9vay1zaWduaW5nLXNlY3JldA=="
TICKET = {"id": 1001, "url": f"{ZENDESK}/api/v2/tickets/1001.json", "subject": "Northwind needs 120 seats",
          "description": "A new team joins the rollout.", "status": "open", "tags": ["license_exception"],
          "requester_id": 360000300001, "organization_id": 360000100001, "custom_fields": [],
          "created_at": "2026-11-19T09:00:00Z", "updated_at": "2026-11-20T10:30:00Z"}
REQUESTER = {"id": 360000300001, "name": "Ada Lovelace", "email": "ada@northwind.example.com",
             "organization_id": 360000100001}
ORGANIZATION = {"id": 360000100001, "name": "Northwind Analytics"}


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def admin(token_for: Callable[..., dict[str, str]]) -> dict[str, str]:
    return token_for("admin", name="push-admin")


def connect_zendesk(client: FlaskClient, admin: dict[str, str], http: responses.RequestsMock) -> None:
    """Connection ``zd`` created and authorized through the browser flow (Zendesk's token endpoint mocked)."""
    r = client.post("/api/v1/connections", headers=admin, json={"name": "zd", "kind": "zendesk", "settings": {
        "subdomain": "acme", "client_id": "lec", "client_secret": "s3cret", "webhook_secret": SECRET}})
    assert r.status_code == 201, r.get_json()
    r = client.get("/api/v1/connections/zd/authorize", headers=admin)
    state = parse_qs(urlsplit(r.headers["Location"]).query)["state"][0]
    http.post(f"{ZENDESK}/oauth/tokens", json={"access_token": "A1", "token_type": "bearer", "refresh_token": "R1",
                                               "expires_in": 1800, "scope": "read write"})
    assert client.get(f"/oauth/callback?code=zd-code&state={state}").status_code == 200


def ticket_fetches(http: responses.RequestsMock) -> list[str]:
    return [c.request.url for c in http.calls if "/api/v2/tickets/" in c.request.url]


def inbound_events(app: Flask) -> list[InboundEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(InboundEvent).order_by(InboundEvent.id)))
        db.session.expunge_all()
        return rows


def process(app: Flask) -> dict[str, int]:
    with app.app_context():
        return sync.process_events()


def test_a_replayed_zendesk_webhook_is_processed_once_with_one_ticket_fetch(app, client, admin, http,
                                                                          database_url):
    connect_zendesk(client, admin, http)
    http.get(f"{ZENDESK}/api/v2/tickets/1001.json",
             json={"ticket": TICKET, "users": [REQUESTER], "organizations": [ORGANIZATION]})
    body = json.dumps({"ticket_id": "1001"}).encode()
    stamp = format_timestamp(time.time())
    captured = {"Content-Type": "application/json", "X-Zendesk-Webhook-Id": "01HQ8ZK2V3XW9Y7R4M5N6P7Q8R",
                "X-Zendesk-Webhook-Signature-Timestamp": stamp,
                "X-Zendesk-Webhook-Signature": sign(SECRET, stamp, body),
                "X-Zendesk-Webhook-Invocation-Id": "8350000001"}
    duplicates = WEBHOOK_EVENTS.labels("zd", "duplicate")._value.get()

    original = client.post("/webhooks/zendesk/zd", data=body, headers=captured)
    assert original.status_code == 200 and original.get_json()["status"] == "stored"
    answers = []
    for n in range(20):  # the replayer changes the one header it can: the invocation id
        if n == 10:
            assert process(app) == {"processed": 1, "failed": 0}  # the worker runs meanwhile
        replay = {**captured, "X-Zendesk-Webhook-Invocation-Id": f"99{n:08d}"}
        answers.append(client.post("/webhooks/zendesk/zd", data=body, headers=replay))
    # another web process on the same database knows the signature too (it is remembered in the database)
    other = create_app(app_config(database_url))
    again = other.test_client().post("/webhooks/zendesk/zd", data=body,
                                     headers={**captured, "X-Zendesk-Webhook-Invocation-Id": "9911111111"})
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    assert process(app) == {"processed": 0, "failed": 0}

    assert [(r.status_code, r.get_json()["status"]) for r in [*answers, again]] == [(200, "duplicate")] * 21
    assert len(inbound_events(app)) == 1
    assert len(ticket_fetches(http)) == 1
    assert WEBHOOK_EVENTS.labels("zd", "duplicate")._value.get() - duplicates == 21  # one process: one counter
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "webhook.processed")) == 1


def soql_fetches(org: MockOrg) -> list[list[str]]:
    """The record ids each ``Id IN (…)`` query named."""
    return [[part.strip().strip("'") for part in q.split(" WHERE Id IN (")[1].split(")")[0].split(",")]
            for q in org.soql if " WHERE Id IN (" in q]


def forged(count: int, start: int, records: list[str]) -> list[str]:
    """``count`` Outbound Messages with the connection's org id and fresh notification ids, each about one of
    ``records`` (in turn), the later ones about two."""
    bodies = []
    for n in range(start, start + count):
        about = [records[n % len(records)]] + ([records[(n + 1) % len(records)]] if n % 2 else [])
        bodies.append(envelope(about, [f"04l5g{n:09d}{i}AAA"[:18] for i in range(len(about))]))
    return bodies


def test_forged_salesforce_messages_cost_at_most_one_fetch_per_record_per_interval(app, client, admin):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        org = MockOrg(rsps)
        create_connection(client, admin)
        authorize_web(client, admin)
        records = [record_id(n) for n in range(1, 6)]
        org.add(*(sf_record(n) for n in range(1, 6)))

        for n, body in enumerate(forged(50, 0, records)):
            assert post(client, body).status_code == 200
            if n in (20, 35):  # the worker runs while the messages arrive
                process(app)
        process(app)
        first = soql_fetches(org)

        assert len(first) == 1 and sorted(first[0]) == records  # 50 messages, 75 notifications: 5 records read
        waiting = [e for e in inbound_events(app) if e.status == "pending"]
        assert waiting and {e.external_id for e in waiting} <= set(records)  # pushed after the fetch: they wait

        for body in forged(50, 50, records):  # 50 more within the same interval: no fetch at all
            assert post(client, body).status_code == 200
        assert process(app) == {"processed": 0, "failed": 0}
        assert soql_fetches(org) == first

        with app.app_context():  # a sync interval later, the records pushed meanwhile are fetched once more
            db.session.execute(update(InboundEvent).where(InboundEvent.status == "processed")
                               .values(processed_at=utcnow() - timedelta(seconds=301)))
            db.session.commit()
        pending = sum(e.status == "pending" for e in inbound_events(app))
        assert process(app) == {"processed": pending, "failed": 0}
        later = soql_fetches(org)[1:]
        assert len(later) == 1 and sorted(later[0]) == records
        assert {e.status for e in inbound_events(app)} == {"processed"}
        assert len(inbound_events(app)) == 150  # every notification kept (each id once), none fetched alone


def test_a_record_pushed_again_while_it_is_fetched_is_fetched_again_later_not_lost(app, client, admin):
    """A push that arrives after the fetch began may announce a change the fetch missed: it stays pending (and
    waits the interval), it is never marked processed by the fetch that began before it."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        org = MockOrg(rsps)
        create_connection(client, admin)
        authorize_web(client, admin)
        org.add(sf_record(1))
        post(client, envelope([record_id(1)], ["04l5g0000000001AAA"]))
        late: dict[str, Any] = {}
        original = sync.released

        @contextmanager
        def fetch_then_push(*args: Any, **kwargs: Any) -> Iterator[None]:
            with original(*args, **kwargs):  # the worker's fetch has begun: Salesforce pushes again
                late.setdefault("response", post(client, envelope([record_id(1)], ["04l5g0000000002AAA"])))
                yield

        with app.app_context():
            sync.released = fetch_then_push  # type: ignore[assignment]
            try:
                assert sync.process_events() == {"processed": 1, "failed": 0}
            finally:
                sync.released = original
        assert late["response"].status_code == 200
        assert [e.status for e in inbound_events(app)] == ["processed", "pending"]


def test_concurrent_replays_and_a_burst_over_the_rate_are_decided_once_each(app, client, admin, http, monkeypatch):
    """21 copies of one signed webhook at once (threads of a served app, several database connections): one is
    stored, 20 are duplicates; then 30 distinct pushes at once against a rate of 10 a minute: exactly 10 pass."""
    connect_zendesk(client, admin, http)
    http.add_passthru("http://127.0.0.1")
    body = json.dumps({"ticket_id": "1001"}).encode()
    stamp = format_timestamp(time.time())
    signature = sign(SECRET, stamp, body)

    def replay(n: int) -> str:
        r = requests.post(f"{base}/webhooks/zendesk/zd", data=body, timeout=30, headers={
            "Content-Type": "application/json", "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "X-Zendesk-Webhook-Signature": signature, "X-Zendesk-Webhook-Invocation-Id": f"77{n:08d}"})
        return f"{r.status_code} {r.json().get('status')}"

    def distinct(n: int) -> int:
        signed = format_timestamp(time.time() - n)  # another moment: another signature
        other = json.dumps({"ticket_id": str(2000 + n)}).encode()
        return requests.post(f"{base}/webhooks/zendesk/zd", data=other, timeout=30, headers={
            "Content-Type": "application/json", "X-Zendesk-Webhook-Signature-Timestamp": signed,
            "X-Zendesk-Webhook-Signature": sign(SECRET, signed, other)}).status_code

    with serve(app) as base, ThreadPoolExecutor(max_workers=8) as pool:
        answers = sorted(pool.map(replay, range(21)))
        reconfigure(app, CONNECTOR_PUSH_RATE_LIMIT=10)
        monkeypatch.setattr(webhooks, "utcnow", lambda: datetime(2026, 12, 3, 12, 0, 30, tzinfo=UTC))  # one minute
        statuses = list(pool.map(distinct, range(30)))

    assert answers == ["200 duplicate"] * 20 + ["200 stored"]
    assert sorted(statuses) == [200] * 10 + [429] * 20
    with app.app_context():
        assert db.session.scalar(select(PushWindow.count).where(PushWindow.minute == 1796299200 // 60)) == 30
    assert len(inbound_events(app)) == 1 + statuses.count(200)
