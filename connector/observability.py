"""Operations: Prometheus metrics (``GET /metrics``) and structured logs that never carry a secret.

Counters live in-process (set ``PROMETHEUS_MULTIPROC_DIR`` to aggregate gunicorn workers); what is durable —
deliveries, inbound events, connection state — is read from the database at scrape time, so every worker and
machine reports the same truth.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from connector import sync_runs
from connector.config import settings
from connector.db import db
from connector.governance.states import STATES, RequestState
from connector.models import (
    AuditEvent,
    Connection,
    Delivery,
    EntitlementBoundary,
    ExceptionRequest,
    InboundEvent,
    SyncRun,
    WorkerHeartbeat,
    utcnow,
)

SYNC_RUNS = Counter("connector_sync_runs_total", "Sync runs by connection and result", ["connection", "result"])
SYNC_RECORDS = Counter("connector_sync_records_total", "Records synced by connection and outcome",
                       ["connection", "outcome"])
WEBHOOK_EVENTS = Counter("connector_webhook_events_total", "Inbound pushes by connection and result",
                         ["connection", "result"])
DELIVERY_LATENCY = Histogram("connector_delivery_latency_seconds",
                             "From the change (decision) to confirmed delivery, by target kind", ["target"],
                             buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400))
DELIVERY_ATTEMPTS = Counter("connector_delivery_attempts_total", "Delivery attempts by target kind and result",
                            ["target", "result"])
WORKER_ERRORS = Counter("connector_worker_errors_total",
                        "Errors the worker survived (logged, then retried with backoff), by stage", ["stage"])

_SECRET_TEXT = re.compile(
    r"(?i)(bearer\s+|access_token[\"'=:\s]+|refresh_token[\"'=:\s]+|client_secret[\"'=:\s]+|"
    r"api_token[\"'=:\s]+|password[\"'=:\s]+|lec_)[A-Za-z0-9._~+/=-]{6,}")


def scrub(text: str) -> str:
    """Mask anything that looks like a credential in a log line."""
    return _SECRET_TEXT.sub(lambda m: m.group(1) + "[redacted]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message (scrubbed), and exception text if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry)


def configure_logging(app: Flask) -> None:
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    if settings(app).log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RedactingFilter())
        root.handlers = [handler]
        root.setLevel(logging.INFO)


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time (the durable state all workers share)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Any:
        with self.app.app_context():
            deliveries = GaugeMetricFamily("connector_deliveries", "Deliveries by status and target",
                                           labels=["status", "target"])
            for status, target, count in db.session.execute(
                select(Delivery.status, Delivery.target, func.count()).group_by(Delivery.status, Delivery.target)
            ):
                deliveries.add_metric([status, target], count)
            yield deliveries
            events = GaugeMetricFamily("connector_inbound_events", "Pushed events by status", labels=["status"])
            for status, count in db.session.execute(
                select(InboundEvent.status, func.count()).group_by(InboundEvent.status)
            ):
                events.add_metric([status], count)
            yield events
            up = GaugeMetricFamily("connector_connection_up", "1 when a connection is connected",
                                       labels=["connection", "kind", "status"])
            usage = GaugeMetricFamily("connector_source_api_usage_share",
                                      "Share of the source's daily API allocation used (Salesforce)",
                                      labels=["connection"])
            last_sync = GaugeMetricFamily("connector_last_sync_timestamp_seconds", "Last completed sync page",
                                          labels=["connection"])
            for conn in db.session.scalars(select(Connection)):
                up.add_metric([conn.name, conn.kind, conn.status], 1.0 if conn.status == "connected" else 0.0)
                share = (conn.settings or {}).get("api_usage_share")
                if share is not None:
                    usage.add_metric([conn.name], float(share))
                if conn.last_sync_at is not None:
                    last_sync.add_metric([conn.name], conn.last_sync_at.timestamp())
            yield up
            yield usage
            yield last_sync
            yield from sync_gauges()
            beats = GaugeMetricFamily("connector_worker_heartbeat_timestamp_seconds",
                                      "When each worker process last reported in", labels=["worker"])
            delivered = GaugeMetricFamily("connector_worker_delivered", "Deliveries sent by each worker process",
                                          labels=["worker"])
            errors = GaugeMetricFamily("connector_worker_last_error_timestamp_seconds",
                                       "When each worker process last survived an error (its heartbeat row has it)",
                                       labels=["worker"])
            for beat in db.session.scalars(select(WorkerHeartbeat)):
                beats.add_metric([beat.worker], beat.seen_at.timestamp())
                delivered.add_metric([beat.worker], beat.delivered)
                if beat.last_error_at is not None:
                    errors.add_metric([beat.worker], beat.last_error_at.timestamp())
            yield beats
            yield delivered
            yield errors
            yield _audit_head_seq()
            yield from governance_gauges(utcnow())
            db.session.remove()


def sync_gauges() -> list[GaugeMetricFamily]:
    """Syncs waiting for a worker or under way, per connection: a queued sync that stays queued means no worker
    takes it (alert on ``time() - connector_sync_queued_since_timestamp_seconds``)."""
    runs = GaugeMetricFamily("connector_sync_runs", "Syncs queued or running", labels=["connection", "state"])
    since = GaugeMetricFamily("connector_sync_queued_since_timestamp_seconds",
                              "When the oldest sync still queued was asked for", labels=["connection"])
    rows = db.session.execute(
        select(Connection.name, SyncRun.state, func.count(), func.min(SyncRun.requested_at))
        .join(Connection, Connection.id == SyncRun.connection_id)
        .where(SyncRun.state.in_(sync_runs.ACTIVE_STATES)).group_by(Connection.name, SyncRun.state))
    for name, state, count, oldest in rows:
        runs.add_metric([name, state], count)
        if state == sync_runs.QUEUED and oldest is not None:
            since.add_metric([name], oldest.timestamp())  # min() keeps the column's UTC type
    return [runs, since]


#: the windows ``connector_expiring_exceptions`` counts (days from today, inclusive)
EXPIRY_WINDOWS = (7, 30, 60, 90)


def governance_gauges(now: datetime) -> list[GaugeMetricFamily]:
    """What to alert on in governance terms: requests by state, overdue reviews, exceptions about to end.

    Three grouped or counted queries on indexed columns (state, due_at, the entitlement's status), so a scrape
    stays cheap however many requests there are."""
    by_state = GaugeMetricFamily("connector_exceptions", "Exception requests by state", labels=["state"])
    counts = dict(db.session.execute(select(ExceptionRequest.state, func.count()).group_by(ExceptionRequest.state))
                  .all())
    for state in STATES:
        by_state.add_metric([state], counts.get(state, 0))
    overdue = db.session.scalar(select(func.count()).select_from(ExceptionRequest).where(
        ExceptionRequest.state == RequestState.IN_REVIEW, ExceptionRequest.due_at < now)) or 0
    today = now.date()
    ends = db.session.execute(
        select(EntitlementBoundary.expires_at, func.count())
        .join(ExceptionRequest, ExceptionRequest.pk == EntitlementBoundary.request_pk)
        .where(EntitlementBoundary.status == "active", ExceptionRequest.state == RequestState.APPROVED,
               EntitlementBoundary.expires_at >= today,
               EntitlementBoundary.expires_at <= today + timedelta(days=max(EXPIRY_WINDOWS)))
        .group_by(EntitlementBoundary.expires_at)).all()
    expiring = GaugeMetricFamily("connector_expiring_exceptions",
                                 "Approved exceptions in force ending within the next N days (today included)",
                                 labels=["within_days"])
    for days in EXPIRY_WINDOWS:
        expiring.add_metric([str(days)], sum(n for day, n in ends if day <= today + timedelta(days=days)))
    return [by_state,
            GaugeMetricFamily("connector_overdue_requests", "Requests in review past their SLA due time",
                              value=overdue),
            expiring]


def _audit_head_seq() -> GaugeMetricFamily:
    """The audit chain's last seq: it only grows, so a drop means events were cut (anchor it, SPEC §6)."""
    seq = db.session.scalar(select(func.max(AuditEvent.seq)))
    return GaugeMetricFamily("connector_audit_head_seq", "Sequence number of the audit chain's last event",
                             value=seq or 0)


def _scrape_allowed(token: str | None) -> bool:
    """No token configured: open. Otherwise the exact bearer token, compared in constant time."""
    if not token:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics_blueprint(app: Flask) -> Blueprint:
    blp = Blueprint("connector_metrics", __name__)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (SYNC_RUNS, SYNC_RECORDS, WEBHOOK_EVENTS, DELIVERY_LATENCY, DELIVERY_ATTEMPTS,
                          WORKER_ERRORS):
            registry.register(collector)
    registry.register(DatabaseCollector(app))

    @blp.route("/metrics")
    def metrics() -> Response:
        token = settings().metrics_token
        if not _scrape_allowed(token):
            return Response("metrics need 'Authorization: Bearer <CONNECTOR_METRICS_TOKEN>'\n", 401,
                            {"Content-Type": "text/plain", "WWW-Authenticate": "Bearer"})
        return Response(generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST})

    return blp
