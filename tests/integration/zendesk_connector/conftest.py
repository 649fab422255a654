"""A Zendesk connection through the HTTP API, with Zendesk's API mocked by ``responses`` in its documented shapes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from adapters.zendesk.webhook import format_timestamp, sign
from connector.db import db
from connector.models import Connection, Watermark
from mappings import ZENDESK_PLACEHOLDER_FIELDS

BASE = "https://acme.zendesk.com"
EXPORT = f"{BASE}/api/v2/incremental/tickets/cursor.json"
TOKENS = f"{BASE}/oauth/tokens"
FIELD_IDS = {name: 360010000001 + index for index, name in enumerate(ZENDESK_PLACEHOLDER_FIELDS)}
CLIENT_SECRET = "zd-client-secret-never-in-clear"
WEBHOOK_SECRET = "dGhpcy1pcy10aGUtd2ViaG9vay1zaWduaW5nLXNlY3JldA=="
SETTINGS = {"subdomain": "acme", "client_id": "lec-connector", "client_secret": CLIENT_SECRET,
            "field_ids": FIELD_IDS, "webhook_secret": WEBHOOK_SECRET}
COMPLETE = {
    "category": "lec_category_seat_expansion", "requested_seats": "120", "baseline_seats": "100",
    "revenue_impact": "4800.00", "currency": "USD", "data_sensitivity": "lec_sensitivity_internal",
    "requested_start": "2026-12-01", "requested_end": "2027-01-15",
    "justification": "Renewal in Q1; the pilot decides an upsell.", "user_base": "20",
}
REQUESTER = {"id": 360000300001, "url": f"{BASE}/api/v2/users/360000300001.json", "name": "Ada Lovelace",
             "email": "ada.lovelace@northwind.example.com", "role": "end-user", "organization_id": 360000100001,
             "user_fields": {"team": "Analytics"}}
ORGANIZATION = {"id": 360000100001, "url": f"{BASE}/api/v2/organizations/360000100001.json",
                "name": "Northwind Analytics", "external_id": "ACC-10001",
                "organization_fields": {"segment": "enterprise"}}


def ticket(ticket_id: int, *, tags: tuple[str, ...] = ("license_exception",), status: str = "open",
           values: dict[str, Any] | None = None, subject: str | None = None,
           updated_at: str = "2026-11-20T10:30:00Z") -> dict[str, Any]:
    """A ticket as the Tickets API and the incremental export return it."""
    custom = [{"id": field_id, "value": (COMPLETE if values is None else values).get(name)}
              for name, field_id in FIELD_IDS.items()]
    return {
        "id": ticket_id, "url": f"{BASE}/api/v2/tickets/{ticket_id}.json", "external_id": None,
        "type": "task", "subject": subject or f"Northwind needs 120 seats (ticket {ticket_id})",
        "raw_subject": subject or f"Northwind needs 120 seats (ticket {ticket_id})",
        "description": "A new team of 20 analysts joins the rollout before the renewal date.",
        "priority": "normal", "status": status, "recipient": "support@acme.example.com",
        "requester_id": REQUESTER["id"], "submitter_id": REQUESTER["id"], "assignee_id": 360000000002,
        "organization_id": ORGANIZATION["id"], "group_id": 360000400001, "collaborator_ids": [],
        "follower_ids": [], "email_cc_ids": [], "has_incidents": False, "is_public": True, "due_at": None,
        "tags": list(tags), "custom_fields": custom, "fields": [dict(c) for c in custom],
        "satisfaction_rating": None, "ticket_form_id": 360000200001, "brand_id": 360000500001,
        "allow_channelback": False, "allow_attachments": True, "created_at": "2026-11-19T09:00:00Z",
        "updated_at": updated_at, "generated_timestamp": 1795170600,
        "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
    }


def export_body(tickets: list[dict[str, Any]], after_cursor: str, end_of_stream: bool,
                with_people: bool = True) -> dict[str, Any]:
    """One page of ``GET /api/v2/incremental/tickets/cursor.json?include=users,organizations``."""
    return {
        "tickets": tickets, "after_cursor": after_cursor,
        "after_url": f"{EXPORT}?cursor={after_cursor}&per_page=1000", "before_cursor": None, "before_url": None,
        "end_of_stream": end_of_stream,
        "users": [REQUESTER] if with_people else [], "organizations": [ORGANIZATION] if with_people else [],
    }


def token_body(access: str, refresh: str, expires_in: int = 1800) -> dict[str, Any]:
    return {"access_token": access, "token_type": "bearer", "scope": "read write", "refresh_token": refresh,
            "expires_in": expires_in, "refresh_token_expires_in": 2592000}


def entitlement(days: int = 90) -> dict[str, Any]:
    start = date.today()
    return {"grants": {"seats": 120}, "effective_from": start.isoformat(),
            "expires_at": (start + timedelta(days=days)).isoformat(), "conditions": ["pilot team only"],
            "renewal": {"mode": "manual", "notice_days": 14}, "success_metrics": ["20 paid seats by renewal"]}


def signed_headers(body: bytes, *, secret: str = WEBHOOK_SECRET, at: float | None = None,
                   invocation: str | None = "8350000001") -> dict[str, str]:
    """The headers Zendesk sends with a webhook request."""
    stamp = format_timestamp(time.time() if at is None else at)
    headers = {"Content-Type": "application/json", "X-Zendesk-Webhook-Id": "01HQ8ZK2V3XW9Y7R4M5N6P7Q8R",
               "X-Zendesk-Webhook-Signature-Timestamp": stamp,
               "X-Zendesk-Webhook-Signature": sign(secret, stamp, body)}
    if invocation is not None:
        headers["X-Zendesk-Webhook-Invocation-Id"] = invocation
    return headers


class Zendesk:
    """Helpers for one test: the mocked API, the connection ``zd`` and what the database holds about it."""

    BASE, EXPORT, TOKENS, FIELD_IDS, SETTINGS = BASE, EXPORT, TOKENS, FIELD_IDS, SETTINGS
    CLIENT_SECRET, WEBHOOK_SECRET, COMPLETE, REQUESTER, ORGANIZATION = (
        CLIENT_SECRET, WEBHOOK_SECRET, COMPLETE, REQUESTER, ORGANIZATION)
    ticket = staticmethod(ticket)
    export_body = staticmethod(export_body)
    token_body = staticmethod(token_body)
    entitlement = staticmethod(entitlement)
    signed_headers = staticmethod(signed_headers)

    def __init__(self, app: Flask, client: FlaskClient, admin: dict[str, str], http: responses.RequestsMock) -> None:
        self.app, self.client, self.admin, self.http = app, client, admin, http

    def create(self, name: str = "zd", **settings: Any) -> dict[str, Any]:
        r = self.client.post("/api/v1/connections", headers=self.admin,
                             json={"name": name, "kind": "zendesk", "settings": {
                                 k: v for k, v in {**SETTINGS, **settings}.items() if v is not None}})
        assert r.status_code == 201, r.get_json()
        return r.get_json()  # type: ignore[no-any-return]

    def authorize(self, name: str = "zd", access: str = "A1", refresh: str = "R1") -> dict[str, Any]:
        """The browser dance: authorize (302 to Zendesk) → Zendesk redirects back to /oauth/callback."""
        r = self.client.get(f"/api/v1/connections/{name}/authorize", headers=self.admin)
        assert r.status_code == 302, r.get_data(as_text=True)
        query = parse_qs(urlsplit(r.headers["Location"]).query)
        token_call = self.http.post(TOKENS, json=token_body(access, refresh))
        callback = self.client.get(f"/oauth/callback?code=zd-code-123&state={query['state'][0]}")
        assert callback.status_code == 200, callback.get_json()
        self.http.remove(token_call)
        return {"location": r.headers["Location"], "query": query, "token_request": token_call.calls[0].request}

    def connection(self, name: str = "zd") -> Connection:
        with self.app.app_context():
            conn = db.session.scalar(db.select(Connection).where(Connection.name == name))
            assert conn is not None
            db.session.expunge(conn)
            return conn

    def watermark(self, name: str = "zd") -> dict[str, Any] | None:
        with self.app.app_context():
            conn = db.session.scalar(db.select(Connection).where(Connection.name == name))
            row = db.session.get(Watermark, (conn.id, "main"))
            return dict(row.value) if row else None

    def sync(self, name: str = "zd") -> dict[str, Any]:
        r = self.client.post(f"/api/v1/connections/{name}/sync", headers=self.admin)
        assert r.status_code == 200, r.get_json()
        return r.get_json()  # type: ignore[no-any-return]

    def requests(self) -> list[dict[str, Any]]:
        r = self.client.get("/api/v1/requests?source=zendesk&limit=200", headers=self.admin)
        assert r.status_code == 200, r.get_json()
        return r.get_json()["items"]  # type: ignore[no-any-return]

    def export_calls(self) -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(c.request.url).query) for c in self.http.calls
                if c.request.url.startswith(EXPORT)]

    def webhook(self, body: dict[str, Any] | bytes, name: str = "zd", **header_options: Any) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.post(f"/webhooks/zendesk/{name}", data=raw, headers=signed_headers(raw, **header_options))

    def database_text(self) -> str:
        """Everything the database stores, as text (the SQLite files, or every PostgreSQL row cast to text)."""
        with self.app.app_context():
            url = make_url(str(db.engine.url))
            if url.get_backend_name() == "sqlite":
                db.session.remove()
                db.engine.dispose()
                path = Path(str(url.database))
                files = [path, path.with_name(path.name + "-wal")]
                return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())
            chunks = []
            for table in db.metadata.sorted_tables:
                rows = db.session.execute(text(f'SELECT CAST(t AS text) FROM "{table.name}" t'))
                chunks.extend(str(row[0]) for row in rows)
            return "\n".join(chunks)


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def admin(token_for: Callable[..., dict[str, str]]) -> dict[str, str]:
    return token_for("admin", name="zendesk-admin")


@pytest.fixture
def chair(token_for: Callable[..., dict[str, str]]) -> dict[str, str]:
    return token_for("reviewer", "licensing", name="licensing-chair")


@pytest.fixture
def zd(app: Flask, client: FlaskClient, admin: dict[str, str], http: responses.RequestsMock) -> Zendesk:
    return Zendesk(app, client, admin, http)


@pytest.fixture
def connected(zd: Zendesk) -> Zendesk:
    """Connection ``zd`` created and authorized (access token A1, refresh token R1)."""
    zd.create()
    zd.authorize()
    return zd
