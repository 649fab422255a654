"""Helpers for notification tests: preferences set through the API, notification deliveries read back, and a
local Slack-compatible incoming-webhook receiver."""

from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy import select

from connector.db import db
from connector.models import Delivery

SLACK = "https://hooks.slack.com/services/T000/B000/s3cretHOOK"
TEAMS = "https://vendor.webhook.office.com/webhookb2/t3amsHOOK"


def set_preferences(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = client.put("/api/v1/notifications/preferences", headers=headers, json=body)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def set_role(client: Any, admin: dict[str, str], role: str, **body: Any) -> dict[str, Any]:
    r = client.put(f"/api/v1/notifications/roles/{role}", headers=admin, json=body)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def notices(app: Any) -> list[Delivery]:
    """The notification deliveries, oldest first (loaded, detached)."""
    with app.app_context():
        rows = list(db.session.scalars(select(Delivery).where(Delivery.change.startswith("notify."))
                                       .order_by(Delivery.id)))
        db.session.expunge_all()
        return rows


class SlackReceiver:
    """A WSGI stand-in for a Slack incoming webhook: answers ``fail_first`` requests with 503 (Retry-After: 1),
    then ``ok`` like Slack; keeps every JSON body it accepted."""

    def __init__(self, fail_first: int = 1) -> None:
        self.fail_first = fail_first
        self.attempts = 0
        self.accepted: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.delivered = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        with self.lock:
            self.attempts += 1
            if self.attempts <= self.fail_first:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "1")])
                return [b"try again"]
            self.accepted.append(json.loads(body))
            self.delivered.set()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
