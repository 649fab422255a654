"""The hash-chained audit log: verification, tamper detection, secrets, API and samples."""

from __future__ import annotations

import itertools
import json

from sqlalchemy import create_engine, text
from support.bodies import entitlement
from support.database import is_postgres

from connector import audit
from connector.db import db


def decided_request(client, token_for, small, chair):
    req = client.post("/api/v1/requests", json=small, headers=token_for("intake")).get_json()
    client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair,
                json={"outcome": "approved", "rationale": "ok", "entitlement": entitlement()})
    return req


def test_every_change_is_an_event_and_the_chain_verifies(app, client, token_for, small):
    chair = token_for("reviewer", "licensing")
    req = decided_request(client, token_for, small, chair)
    client.post(f"/api/v1/requests/{req['id']}/revoke", headers=chair, json={"reason": "breach"})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["connector", "audit", "verify"])
    assert result.exit_code == 0 and result.output.startswith("ok:")
    auditor = token_for("auditor")
    events = client.get("/api/v1/audit?limit=500", headers=auditor).get_json()["items"]
    actions = [e["action"] for e in events]
    for action in ("policy.changed", "token.created", "request.created", "decision.recorded", "entitlement.revoked"):
        assert action in actions
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(events))
    verify = client.get("/api/v1/audit/verify", headers=auditor).get_json()
    assert verify["ok"] is True and verify["head"]["seq"] == len(events)
    head = json.loads(runner.invoke(args=["connector", "audit", "head"]).output)
    assert head["seq"] == len(events) and head["hash"] == events[-1]["hash"]
    lines = runner.invoke(args=["connector", "audit", "export"]).output.strip().splitlines()
    assert len(lines) == len(events) and json.loads(lines[0])["seq"] == 1
    assert client.get("/api/v1/audit", headers=token_for("reviewer", "legal")).status_code == 403


def test_tampering_is_named(app, client, token_for, small):
    decided_request(client, token_for, small, token_for("reviewer", "licensing"))
    url = app.config["CONNECTOR_DATABASE_URL"]
    engine = create_engine(url)
    with engine.begin() as conn:
        if is_postgres():
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        target = conn.execute(text("SELECT seq FROM audit_events WHERE action = 'decision.recorded'")).scalar()
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = :s"), {"s": target})
    engine.dispose()
    result = app.test_cli_runner().invoke(args=["connector", "audit", "verify"])
    assert result.exit_code == 1
    assert f"seq {target}" in result.output and "content does not match" in result.output
    with app.app_context():
        assert audit.verify().broken_seq == target


def test_no_secret_or_token_enters_the_log(app, client, token_for, small):
    headers = token_for("intake")
    token = headers["Authorization"].split()[1]
    client.post("/api/v1/requests", json=small, headers=headers)
    with app.app_context():
        audit.append("test", "connection.changed", "connection:x",
                     {"settings": {"client_id": "abc", "client_secret": "s3cr3t", "nested": {"refresh_token": "rt"}},
                      "api_token": "tok", "private_key": "-----BEGIN"})
        db.session.commit()
        dump = json.dumps([audit.event_dict(e) for e in audit.iter_events()])
    assert token not in dump and token[4:] not in dump
    for secret in ("s3cr3t", '"rt"', '"tok"', "-----BEGIN"):
        assert secret not in dump
    assert '"client_id": "abc"' in dump


def test_samples_are_reproducible_and_record_findings(app, client, token_for, small):
    chair = token_for("reviewer", "licensing")
    ids = [decided_request(client, token_for, small, chair)["id"] for _ in range(6)]
    auditor = token_for("auditor")
    first = client.post("/api/v1/audit/samples", headers=auditor, json={"size": 3, "seed": "q4-2026"}).get_json()
    again = client.post("/api/v1/audit/samples", headers=auditor, json={"size": 3, "seed": "q4-2026"}).get_json()
    assert first["items"] == again["items"] and len(first["items"]) == 3 and set(first["items"]) <= set(ids)
    assert first["population"] == 6
    r = client.post(f"/api/v1/audit/samples/{first['id']}/findings", headers=auditor,
                    json={"request_id": first["items"][0], "finding": "compliant", "note": "usage within grant"})
    assert r.status_code == 201 and r.get_json()["findings"][0]["finding"] == "compliant"
    outsider = next(i for i in ids if i not in first["items"])
    assert client.post(f"/api/v1/audit/samples/{first['id']}/findings", headers=auditor,
                       json={"request_id": outsider, "finding": "compliant"}).status_code == 422
    cli = app.test_cli_runner().invoke(args=["connector", "audit", "sample", "--size", "3", "--seed", "q4-2026"])
    assert json.loads(cli.output)["items"] == first["items"]
