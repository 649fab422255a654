"""A lost database is a 503 ``unavailable`` with ``Retry-After``, never a 500 ``internal_error``: met in the token
check, in a route or at the commit, on the API and the push endpoints; nothing is half written, and the next
request after the database is back works (simulated in the engine, so it runs on both databases; the TCP outage
on PostgreSQL is in ``tests/reliability/test_database_outage_api.py``)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient
from sqlalchemy.exc import DisconnectionError, InterfaceError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from support.outage import database_lost

from connector.db import RETRY_AFTER_SECONDS

ZENDESK = {"subdomain": "acme", "client_id": "c", "webhook_secret": "c2VjcmV0"}


def assert_unavailable(r: Any) -> None:
    assert r.status_code == 503, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.get_json()["code"] == "unavailable" and r.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)


def test_api_reads_writes_and_pushes_answer_503_while_the_database_is_lost(app, client: FlaskClient, token_for,
                                                                           small):
    admin, intake = token_for("admin"), token_for("intake")
    r = client.post("/api/v1/connections", headers=admin, json={"name": "zd", "kind": "zendesk", "settings": ZENDESK})
    assert r.status_code == 201, r.get_json()
    with database_lost(app):
        assert_unavailable(client.get("/api/v1/requests", headers=intake))
        assert_unavailable(client.post("/api/v1/requests", json=small, headers=intake))
        assert_unavailable(client.get("/api/v1/connections/zd", headers=admin))
        assert_unavailable(client.post("/webhooks/zendesk/zd", json={"ticket_id": "1"}))
        assert client.get("/api/v1/requests").status_code == 401  # no token: refused without asking the database
    r = client.post("/api/v1/requests", json=small, headers=intake)
    assert r.status_code == 201, r.get_json()
    assert client.get("/api/v1/requests", headers=intake).get_json()["items"][0]["key"] == r.get_json()["key"]


def test_a_commit_that_fails_is_503_and_nothing_is_written(app, client: FlaskClient, token_for, small):
    intake = token_for("intake")
    with database_lost(app, only_commit=True):
        assert_unavailable(client.post("/api/v1/requests", json=small, headers=intake))
    assert client.get("/api/v1/requests", headers=intake).get_json()["items"] == []
    assert client.post("/api/v1/requests", json=small, headers=intake).status_code == 201


@pytest.mark.parametrize("error", [
    InterfaceError("(statement)", {}, Exception("connection already closed")),
    DisconnectionError("the connection was invalidated"),
    PendingRollbackError("a previous flush failed: roll back first"),
    PoolTimeout("QueuePool limit reached, connection timed out"),
    psycopg.OperationalError("server closed the connection unexpectedly"),
], ids=lambda error: type(error).__name__)
def test_every_kind_of_lost_connection_is_a_503(client, token_for, monkeypatch, error):
    intake = token_for("intake")

    def lost(*_: Any) -> None:
        raise error

    monkeypatch.setattr("connector.auth.authenticate", lost)
    assert_unavailable(client.get("/api/v1/requests", headers=intake))
    assert_unavailable(client.post("/api/v1/requests/LEX-1/withdraw", json={"reason": "x"}, headers=intake))
