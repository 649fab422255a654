"""A billing endpoint configured for the integration tests, and the steps that put a delivery in its outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connector import delivery
from connector.db import db
from connector.models import Delivery
from support.bodies import entitlement

BILLING = "https://billing.example/hooks/license-terms"
SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="
#: ``app_overrides`` of a test module that sends to billing
BILLING_CONFIG = {"CONNECTOR_BILLING_WEBHOOK_URL": BILLING, "CONNECTOR_BILLING_WEBHOOK_SECRET": SECRET}


def approve(client: Any, token_for: Any, small: dict[str, Any], chair: dict[str, str]) -> dict[str, Any]:
    """Submit ``small`` and approve it: one billing delivery queued."""
    req = client.post("/api/v1/requests", json=small, headers=token_for("intake")).get_json()
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair,
                    json={"outcome": "approved", "rationale": "ok", "entitlement": entitlement()})
    assert r.status_code == 201
    return r.get_json()


def drain(app: Any) -> dict[str, int]:
    with app.app_context():
        return delivery.drain()


def deliveries(app: Any) -> list[tuple[str, str, int, str]]:
    with app.app_context():
        rows = db.session.scalars(select(Delivery).order_by(Delivery.id))
        return [(d.change, d.status, d.attempts, d.target) for d in rows]
