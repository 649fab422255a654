"""Each event reaches the people and roles subscribed to it through the outbox, and the Slack and Teams senders
retry 429/5xx (honouring Retry-After) and give up on other 4xx with the reason, never with the webhook URL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
import time_machine
from sqlalchemy import select
from support.bodies import entitlement
from support.notifications import SLACK, TEAMS, notices, set_preferences, set_role

from connector import delivery, operations
from connector.db import db
from connector.models import AuditEvent, ExceptionRequest, NotificationPreference, utcnow

OTHER_SLACK = "https://hooks.slack.com/services/T000/B000/0therHOOK"


def create(client, token_for, body):
    r = client.post("/api/v1/requests", json=body, headers=token_for("intake"))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def pref_id(app, name=None, role=None):
    with app.app_context():
        query = select(NotificationPreference.id)
        if role:
            query = query.where(NotificationPreference.role == role)
        else:
            query = query.join(NotificationPreference.principal).where(NotificationPreference.principal.has(name=name))
        return db.session.scalar(query)


def targets(app, change):
    return sorted(d.target for d in notices(app) if d.change == change)


@pytest.fixture
def people(client, token_for):
    """The licensing role's Teams channel; Sam (sales) on Slack at once; Lia (licensing chair) on Slack."""
    admin = token_for("admin")
    set_role(client, admin, "licensing", channels=["teams"], events=["routed", "reminder", "escalation", "expiring"],
             webhooks={"teams": TEAMS})
    sam = token_for("reviewer", "sales", name="sam")
    set_preferences(client, sam, channels=["slack"], events=["routed", "reminder", "escalation", "decision"],
                    webhooks={"slack": SLACK})
    lia = token_for("reviewer", "licensing", name="lia")
    set_preferences(client, lia, channels=["slack"], events=["expiring"], webhooks={"slack": OTHER_SLACK})
    return {"admin": admin, "sam": sam, "lia": lia}


def test_routed_reminder_and_escalation_reach_the_required_roles(app, client, token_for, people, large):
    req = create(client, token_for, large)
    teams, sam = f"teams:{pref_id(app, role='licensing')}", f"slack:{pref_id(app, 'sam')}"
    assert targets(app, "notify.routed") == [sam, teams]  # Lia holds licensing but did not ask for routing
    routed = next(d for d in notices(app) if d.target == sam)
    assert req["key"] in routed.payload["text"] and "needs a review by licensing" in routed.payload["text"]
    with app.app_context():
        due = db.session.scalar(select(ExceptionRequest.due_at).where(ExceptionRequest.id == req["id"]))
        assert operations.run_sla(due - timedelta(seconds=1))["reminders"] == 1
        assert operations.run_sla(due + timedelta(hours=1))["escalations"] == 1
        assert operations.run_sla(due + timedelta(hours=2)) == {"reminders": 0, "escalations": 0}
        db.session.commit()
    assert targets(app, "notify.reminder") == [sam, teams]
    assert targets(app, "notify.escalation") == [sam, teams]
    card = next(d for d in notices(app) if d.change == "notify.escalation" and d.target == teams).payload
    assert card["@type"] == "MessageCard" and card["summary"].startswith(f"Overdue: {req['key']}")


def test_decision_reaches_voters_and_an_external_channel_gets_no_internal_note(app, client, token_for, people,
                                                                               small):
    admin = people["admin"]
    policy = client.get("/api/v1/policy", headers=admin).get_json()["policy"]
    policy["notifications"] = {"external_channels": ["slack"]}
    assert client.put("/api/v1/policy", headers=admin, json={"policy": policy}).status_code == 200
    policy["notifications"] = {"external_channels": ["pager"]}
    refused = client.put("/api/v1/policy", headers=admin, json={"policy": policy})
    assert refused.status_code == 422 and "external_channels" in refused.get_data(as_text=True)
    req = create(client, token_for, small)
    r = client.post(f"/api/v1/requests/{req['id']}/votes", headers=people["sam"],
                    json={"role": "sales", "vote": "approve", "rationale": "fine"})
    assert r.status_code == 201, r.get_json()
    chair = token_for("reviewer", "licensing", name="carla")
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair,
                    json={"outcome": "approved", "rationale": "Margin holds",
                          "entitlement": entitlement(days=90)})
    assert r.status_code == 201, r.get_json()
    decision = r.get_json()["decision"]
    private = [line for line in decision["internal_note"].splitlines()
               if line.strip() and line not in decision["customer_summary"]]
    assert private
    [decided] = [d for d in notices(app) if d.change == "notify.decision"]
    assert decided.target == f"slack:{pref_id(app, 'sam')}"  # Carla decided, Sam voted; Lia did neither
    shown = json.dumps(decided.payload)
    assert "approved by carla" in shown and "Acme GmbH" in shown
    assert "Internal" not in shown and not [line for line in private if json.dumps(line)[1:-1] in shown]
    # the customer summary (which the policy's template lets quote the rationale) is what everyone may read
    assert "Customer summary" in shown


def test_an_exception_expiring_tells_its_owner_and_the_chairs_channel(app, client, token_for, people, small):
    req = create(client, token_for, small)
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=people["lia"],
                    json={"outcome": "approved", "rationale": "ok", "entitlement": entitlement(days=90)})
    assert r.status_code == 201
    with app.app_context():
        assert operations.run_expiry(utcnow() + timedelta(days=80))["notices"] == 1
        db.session.commit()
    assert targets(app, "notify.expiring") == [f"slack:{pref_id(app, 'lia')}",
                                               f"teams:{pref_id(app, role='licensing')}"]


@responses.activate
def test_slack_retries_honouring_retry_after_and_a_4xx_is_dead_with_its_reason(app, client, token_for, people,
                                                                               small, large):
    responses.post(SLACK, status=503, headers={"Retry-After": "120"})
    responses.post(TEAMS, status=404, body="channel_not_found")
    with time_machine.travel(utcnow(), tick=False) as clock:
        create(client, token_for, small)  # routed to licensing (Teams) and, as every fast track, not to sales
        create(client, token_for, large)  # routed to licensing and sales (Sam, on Slack)
        with app.app_context():
            delivery.drain()
        clock.shift(60)
        with app.app_context():
            delivery.drain()
        slack_calls = [c for c in responses.calls if c.request.url == SLACK]
        assert len(slack_calls) == 1  # not before 120 s
        responses.replace(responses.POST, SLACK, status=200, body="ok")
        clock.shift(61)
        with app.app_context():
            delivery.drain()
    by_target = {d.target.split(":")[0]: d for d in notices(app) if d.change == "notify.routed"}
    slack, teams = by_target["slack"], [d for d in notices(app) if d.target.startswith("teams:")]
    assert slack.status == "delivered" and slack.attempts == 2
    assert json.loads(responses.calls[-1].request.body)["blocks"][0]["type"] == "section"
    assert {d.status for d in teams} == {"dead"} and all("404" in d.last_error and "channel_not_found" in d.last_error
                                                         for d in teams)
    with app.app_context():
        logged = json.dumps([e.data for e in db.session.scalars(select(AuditEvent))])
    assert "s3cretHOOK" not in logged and "t3amsHOOK" not in logged and "hooks.slack.com" not in logged


def test_a_disputed_decision_is_routed_again(app, client, token_for, people, small):
    req = create(client, token_for, small)
    teams = f"teams:{pref_id(app, role='licensing')}"
    assert targets(app, "notify.routed") == [teams]  # fast track: the chair's role only
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=people["lia"],
                    json={"outcome": "denied", "rationale": "Outside policy"})
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/requests/{req['id']}/disputes", headers=people["admin"],
                    json={"reason": "The customer sent new figures"})
    assert r.status_code == 201, r.get_json()
    assert targets(app, "notify.routed") == [teams, teams]
