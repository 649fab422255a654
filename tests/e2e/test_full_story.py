"""The whole story over real HTTP: sandboxes, the app under a WSGI server, the worker as its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.test import Client

from connector import create_app
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
    demo = Demo(tmp_path, create_app, echo=lines.append, database_url=database_url, worker=worker_process)
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

    # the requests' "Open in Salesforce/Zendesk" links lead to the sandboxes' pages for people
    for item, sandbox in ((by_title["Five more seats for the Q4 pilot"], demo.salesforce),
                          (decided_tickets[0], demo.zendesk)):
        page = Client(sandbox).get(urlsplit(item["external_url"]).path)
        assert page.status_code == 200 and page.mimetype == "text/html", item["external_url"]
        assert item["title"] in page.text

    in_review = {r["risk"]["band"] for r in story.requests if r["state"] == "in_review"}
    assert in_review == {"low", "medium", "high", "critical"}  # a multi-role vote to try at every band

    pilot_key = by_title["Five more seats for the Q4 pilot"]["key"]
    assert {(b["key"], b["version"]) for b in story.billing} >= {(pilot_key, 1), (oem["key"], 1)}
    assert demo.receiver.refused == 0
    assert story.audit_ok
    assert any("chain verified" in line for line in lines)


def test_demo_command_once(database_url, tmp_path, monkeypatch):
    from support.database import app_config

    from connector import create_app

    folder = tmp_path / "demo-folder"
    app = create_app({**app_config(database_url), "CONNECTOR_DEMO_DIR": str(folder)})
    result = app.test_cli_runner().invoke(args=["connector", "demo", "--once"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "INFO" not in out and "alembic" not in out  # no library logging
    assert f"Its folder: {folder}" in out
    assert "provisioned them:" in out and "components deployed" in out and "15 ticket fields" in out
    assert "Salesforce records now show" in out and "Zendesk tickets now show" in out
    assert "all signatures verified (0 refused)" in out and "chain verified" in out
    assert "4,800,000 USD" in out and "{'seats'" not in out and "note(s)" not in out
    for role in ("licensing", "legal", "product", "sales", "security", "admin"):
        assert f"{role}@demo.example" in out
    password = out.split("password for all: ", 1)[1].split(")", 1)[0]
    assert len(password) >= 12
    assert "(low), " in out and "(medium), " in out and "(high), " in out and "(critical)" in out
    assert "What to try next:" in out
    assert (folder / "demo.db").exists() and (folder / "settings.json").stat().st_mode & 0o077 == 0

    # the CLI opens the demo's folder with --demo, from anywhere
    from click.testing import CliRunner

    from connector.console import lec

    monkeypatch.setenv("CONNECTOR_DEMO_DIR", str(folder))
    listed = CliRunner().invoke(lec, ["--demo", "tokens", "list"])
    assert listed.exit_code == 0, listed.output
    assert "Lena Licensing (chair)" in listed.output and "Sol Security" in listed.output
    found = CliRunner().invoke(lec, ["--demo", "requests", "list", "--state", "in_review", "--sort", "risk"])
    assert found.exit_code == 0, found.output
    assert "critical" in found.output.splitlines()[1]  # the riskiest request left in review comes first


def test_a_second_demo_in_the_same_folder_refuses_and_deletes_nothing(tmp_path):
    from click.testing import CliRunner

    from connector.console import lec
    from connector.demo import lock_folder

    (tmp_path / "demo.db").write_text("a serving demo's database")
    held = lock_folder(tmp_path)  # a demo serving in this folder
    try:
        result = CliRunner().invoke(lec, ["demo", "--once"], env={"CONNECTOR_DEMO_DIR": str(tmp_path),
                                                                    "CONNECTOR_DATABASE_URL": "sqlite://"})
    finally:
        held.close()
    assert result.exit_code == 1
    assert f"error: a demo is already running in {tmp_path} (process " in result.output
    assert (tmp_path / "demo.db").read_text() == "a serving demo's database"
