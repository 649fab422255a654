"""The database cut off under a running app (PostgreSQL behind a TCP proxy that drops every connection and refuses
new ones): the API (GET and POST with a token), a UI page and a push endpoint answer 503 ``unavailable`` with
``Retry-After`` during the cut, never a 500, and answer normally as soon as the proxy is restored, without
restarting anything (the pool's pre-ping replaces the dropped connections)."""

from __future__ import annotations

import copy
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from support.bodies import SMALL
from support.database import app_config, is_postgres
from support.tcp_proxy import TcpProxy, proxied

from adapters.zendesk.webhook import format_timestamp, sign
from connector import create_app
from connector.auth import create_token
from connector.db import RETRY_AFTER_SECONDS, db
from connector.policy_store import ensure_default_policy
from connector.web.accounts import create_account

pytestmark = pytest.mark.skipif(not is_postgres(), reason="cuts a TCP connection to PostgreSQL (a proxy in front of "
                                                          "the server); SQLite has no connection to cut")
SECRET = "c2lnbmluZy1zZWNyZXQ="
PASSWORD = "correct horse battery staple"
CUT_SECONDS = 3.0


@pytest.fixture
def proxy(database_url: str) -> Iterator[tuple[TcpProxy, str]]:
    url = make_url(database_url)
    with proxied(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running, url.set(port=running.port).render_as_string(hide_password=False)


@pytest.fixture
def outage_app(proxy: tuple[TcpProxy, str]) -> Iterator[Flask]:
    application = create_app(app_config(proxy[1]))
    with application.app_context():
        ensure_default_policy()
        create_account("chair@vendor.example", "reviewer", ["licensing"], password=PASSWORD, actor="test")
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def token(app: Flask, role: str) -> dict[str, str]:
    with app.app_context():
        secret = create_token(f"{role}-outage", role, actor="test")
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def signed_in(app: Flask) -> FlaskClient:
    browser = app.test_client()
    page = browser.get("/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert csrf
    r = browser.post("/sign-in", data={"csrf_token": csrf.group(1), "email": "chair@vendor.example",
                                       "password": PASSWORD})
    assert r.status_code == 303
    return browser


def push(client: FlaskClient, ticket: int) -> Any:
    body = json.dumps({"ticket_id": str(ticket)}).encode()
    stamp = format_timestamp(time.time())
    return client.post("/webhooks/zendesk/zd", data=body, headers={
        "Content-Type": "application/json", "X-Zendesk-Webhook-Id": "01HQ8ZK2V3XW9Y7R4M5N6P7Q8R",
        "X-Zendesk-Webhook-Invocation-Id": f"835{ticket}", "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Signature": sign(SECRET, stamp, body)})


def calls(client: FlaskClient, browser: FlaskClient, intake: dict[str, str], body: dict[str, Any],
          ticket: int) -> dict[str, Any]:
    """One of each: an API read and write with a token, a UI page, a push."""
    return {"api GET": client.get("/api/v1/requests", headers=intake),
            "api POST": client.post("/api/v1/requests", json=body, headers=intake),
            "ui GET": browser.get("/queue"),
            "push POST": push(client, ticket)}


def test_the_api_ui_and_pushes_answer_503_during_a_cut_and_recover_by_themselves(proxy, outage_app):
    small = copy.deepcopy(SMALL)
    tcp, _ = proxy
    client, browser = outage_app.test_client(), signed_in(outage_app)
    intake, admin = token(outage_app, "intake"), token(outage_app, "admin")
    r = client.post("/api/v1/connections", headers=admin, json={"name": "zd", "kind": "zendesk", "settings": {
        "subdomain": "acme", "client_id": "c", "webhook_secret": SECRET}})
    assert r.status_code == 201, r.get_json()
    before = calls(client, browser, intake, {**small, "title": "before the cut"}, 1000)
    assert {name: r.status_code for name, r in before.items()} == {
        "api GET": 200, "api POST": 201, "ui GET": 200, "push POST": 200}

    tcp.cut()
    statuses: Counter[tuple[str, int]] = Counter()
    started, ticket = time.monotonic(), 1001
    slowest_round = 0.0
    while time.monotonic() - started < CUT_SECONDS:
        round_started = time.monotonic()
        answers = calls(client, browser, intake, {**small, "title": f"during the cut {ticket}"}, ticket)
        slowest_round = max(slowest_round, time.monotonic() - round_started)
        for name, r in answers.items():
            statuses[name, r.status_code] += 1
            assert r.status_code == 503, (name, r.status_code, r.get_data(as_text=True)[:300])
            assert r.headers["Retry-After"] == str(RETRY_AFTER_SECONDS), name
            if name == "ui GET":
                assert r.mimetype == "text/html" and "The database is unavailable" in r.get_data(as_text=True)
            else:
                assert r.get_json()["code"] == "unavailable", (name, r.get_json())
        ticket += 1
        time.sleep(0.5)
    assert all(statuses[name, 503] >= 3 for name in before), statuses

    tcp.restore()
    restored = time.monotonic()
    after = calls(client, browser, intake, {**small, "title": "after the cut"}, 2000)
    recovered_in = time.monotonic() - restored
    assert {name: r.status_code for name, r in after.items()} == {
        "api GET": 200, "api POST": 201, "ui GET": 200, "push POST": 200}, {
        name: r.get_data(as_text=True)[:200] for name, r in after.items()}
    titles = [item["title"] for item in client.get("/api/v1/requests", headers=intake).get_json()["items"]]
    assert titles == ["after the cut", "before the cut"]  # nothing from the cut was half written
    assert recovered_in < 5 and slowest_round < 5, (recovered_in, slowest_round)
    print(f"\ncut {CUT_SECONDS:.0f} s: {dict(statuses)}; the four calls of a round answered 503 within "
          f"{slowest_round:.2f} s; the first four after restore answered normally within {recovered_in:.2f} s")
