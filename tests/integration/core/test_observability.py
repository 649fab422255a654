"""Prometheus metrics and structured, secret-free logs."""

from __future__ import annotations

import json
import logging
import os
import socket

import pytest
import responses
from support.bodies import entitlement

from connector import worker
from connector.config import reconfigure
from connector.observability import JsonFormatter, RedactingFilter, scrub

BILLING = "https://billing.example/terms"


@pytest.fixture
def app_overrides():
    return {"CONNECTOR_BILLING_WEBHOOK_URL": BILLING,
            "CONNECTOR_BILLING_WEBHOOK_SECRET": "whsec_bWV0cmljcy10ZXN0LXNlY3JldA=="}


@responses.activate
def test_metrics_report_deliveries_and_latency(app, client, token_for, small):
    responses.post(BILLING, status=204)
    req = client.post("/api/v1/requests", json=small, headers=token_for("intake")).get_json()
    client.post(f"/api/v1/requests/{req['id']}/decision", headers=token_for("reviewer", "licensing"),
                json={"outcome": "approved", "rationale": "ok", "entitlement": entitlement()})
    worker.run_worker(app, once=True)
    r = client.get("/metrics")
    assert r.status_code == 200 and r.content_type.startswith("text/plain")
    text = r.get_data(as_text=True)
    assert 'connector_deliveries{status="delivered",target="billing"} 1.0' in text
    assert 'connector_delivery_attempts_total{result="delivered",target="billing"}' in text
    assert "connector_delivery_latency_seconds_bucket" in text
    assert f'connector_worker_heartbeat_timestamp_seconds{{worker="{socket.gethostname()}:{os.getpid()}"}}' in text
    assert 'worker="sync"' not in text  # the periodic jobs' names are not workers
    assert 'connector_connection_up' in text


def test_metrics_token_when_configured(app, client):
    reconfigure(app, CONNECTOR_METRICS_TOKEN="scrape-me")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200


def test_log_lines_are_json_and_scrubbed():
    record = logging.LogRecord("connector.sync", logging.WARNING, __file__, 1,
                               "refresh failed for %s with Authorization: Bearer abcdef123456 and lec_zzzzzzzzzz",
                               ("sf-prod",), None)
    RedactingFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "warning" and line["logger"] == "connector.sync"
    assert "abcdef123456" not in line["message"] and "zzzzzzzzzz" not in line["message"]
    assert "sf-prod" in line["message"]
    assert scrub('{"refresh_token": "rt-123456789"}') == '{"refresh_token": "[redacted]"}'
