"""Zendesk webhooks are JSON (415 otherwise), come from the allowed networks (403), and a signature already
received is a duplicate until it expires (the worker then forgets it)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlalchemy import func, select

from connector import sync
from connector.config import reconfigure
from connector.db import db
from connector.models import InboundEvent, PushSignature, utcnow

BODY = json.dumps({"ticket_id": "1001"}).encode()


def stored(app) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(InboundEvent)) or 0)


def test_only_json_is_accepted(connected, app):
    zd = connected
    answers = {}
    for kind in ("text/plain", "application/x-www-form-urlencoded", "text/xml", "application/jsonp"):
        headers = {**zd.signed_headers(BODY, invocation=kind), "Content-Type": kind}
        answers[kind] = zd.client.post("/webhooks/zendesk/zd", data=BODY, headers=headers)
    assert {kind: r.status_code for kind, r in answers.items()} == dict.fromkeys(answers, 415)
    assert answers["text/plain"].get_json()["code"] == "unsupported_media_type"
    assert "'application/json'" in answers["text/plain"].get_json()["message"]
    charset = {**zd.signed_headers(BODY), "Content-Type": "application/json; charset=utf-8"}
    assert zd.client.post("/webhooks/zendesk/zd", data=BODY, headers=charset).status_code == 200
    assert stored(app) == 1


def test_webhooks_from_outside_the_allowed_networks_are_refused_before_they_are_read(connected, app):
    zd = connected
    r = zd.client.patch("/api/v1/connections/zd", headers=zd.admin,
                        json={"settings": {"allowed_push_networks": ["216.198.0.0/18"]}})
    assert r.status_code == 200, r.get_json()
    outside = zd.client.post("/webhooks/zendesk/zd", data=BODY, headers=zd.signed_headers(BODY))
    assert outside.status_code == 403 and outside.get_json()["code"] == "push_network_refused"
    reconfigure(app, CONNECTOR_TRUSTED_PROXIES="127.0.0.1/32")
    via_proxy = zd.client.post("/webhooks/zendesk/zd", data=BODY,
                               headers={**zd.signed_headers(BODY), "X-Forwarded-For": "216.198.1.2"})
    assert via_proxy.status_code == 200
    assert stored(app) == 1


def test_a_remembered_signature_is_forgotten_once_it_could_no_longer_be_accepted(connected, app):
    zd = connected
    signed_at = time.time() - 60
    assert zd.webhook(BODY, at=signed_at, invocation="1").get_json()["status"] == "stored"
    assert zd.webhook(BODY, at=signed_at, invocation="2").get_json()["status"] == "duplicate"
    with app.app_context():
        (expires,) = db.session.scalars(select(PushSignature.expires_at)).all()
        assert timedelta(seconds=297) < expires - utcnow() <= timedelta(seconds=301)  # 300 s + 60 s margin - 60 s
        db.session.execute(db.update(PushSignature).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        sync.process_events()
        assert db.session.scalar(select(func.count()).select_from(PushSignature)) == 0
    assert zd.webhook(BODY, at=time.time() - 6 * 60, invocation="3").status_code == 401  # stale anyway
