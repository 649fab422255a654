"""The whole story over real HTTP: sandboxes, the app under a WSGI server, the worker as its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector.demo import Demo

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def worker_process(_app, env: dict[str, str]) -> dict[str, int]:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "connector", "worker", "--once"],
                          cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("deliveries:")
    return {part.split()[0]: int(part.split()[1]) for part in line.split(":", 1)[1].split(",") if part.strip()}


def test_the_whole_story(database_url, tmp_path):
    lines: list[str] = []
    demo = Demo(tmp_path, echo=lines.append, database_url=database_url, worker=worker_process)
    story = demo.run(keep_serving=False)
    by_title = {r["title"]: r for r in story.requests}
    assert by_title["Five more seats for the Q4 pilot"]["state"] == "approved"
    assert by_title["Five more seats for the Q4 pilot"]["track"] == "fast"
    oem = by_title["OEM redistribution in EMEA, APAC and LATAM"]
    assert oem["track"] == "standard" and oem["risk"]["band"] in ("high", "critical") and oem["state"] == "approved"
    assert by_title["30% discount to match a competitor"]["state"] == "denied"
    incomplete = by_title["Seats for the new subsidiary"]
    assert incomplete["state"] == "needs_info" and "customer.name" in incomplete["intake"]["missing"]
    conflicting = by_title["Fewer seats but called an expansion"]
    assert "seats_not_increased" in [c["code"] for c in conflicting["intake"]["conflicts"]]
    assert {r["source"] for r in story.requests} == {"salesforce", "zendesk"}
    assert len([r for r in story.requests if r["source"] == "zendesk"]) == 5  # the password ticket is not one

    record = next(demo.salesforce.get_record(i) for i in demo.salesforce.record_ids()
                  if demo.salesforce.get_record(i)["Name"] == "Five more seats for the Q4 pilot")
    assert record["Governance_Status__c"] == "approved" and record["Decision__c"] == "approved"
    assert record["Entitlement_Expires__c"] == by_title["Five more seats for the Q4 pilot"]["entitlement"]["expires_at"]
    assert record["Governance_Key__c"] == by_title["Five more seats for the Q4 pilot"]["key"]

    decided_tickets = [r for r in story.requests if r["source"] == "zendesk" and r["state"] == "approved"]
    assert decided_tickets
    ticket_id = int(decided_tickets[0]["external_id"])
    comments = demo.zendesk.ticket_comments(ticket_id)
    assert any(c["public"] and decided_tickets[0]["entitlement"]["expires_at"] in c["body"] for c in comments)
    assert any(not c["public"] for c in comments)
    assert "license_exception_approved" in demo.zendesk.ticket(ticket_id)["tags"]

    pilot_key = by_title["Five more seats for the Q4 pilot"]["key"]
    assert {(b["key"], b["version"]) for b in story.billing} >= {(pilot_key, 1), (oem["key"], 1)}
    assert demo.receiver.refused == 0
    assert story.audit_ok
    assert any("chain verified" in line for line in lines)


def test_demo_command_once(database_url, tmp_path):
    from support.database import app_config

    from connector import create_app

    app = create_app(app_config(database_url))
    app.instance_path = str(tmp_path)
    result = app.test_cli_runner().invoke(args=["connector", "demo", "--once"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "authorized salesforce-demo through the provider's OAuth redirect" in out
    assert "Salesforce records now show:" in out and "Zendesk tickets now show:" in out
    assert "all signatures verified (0 refused)" in out and "chain verified" in out
    assert (tmp_path / "demo.db").exists()
