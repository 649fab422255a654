"""Notification preferences through the API: a person's own, a role's (admin); webhook URLs write-only, encrypted
at rest and absent from answers and the audit log; bad input refused field by field."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet
from sqlalchemy import select, text
from support.database import app_config
from support.notifications import SLACK, TEAMS, set_preferences, set_role

from connector import create_app
from connector.db import db
from connector.models import AuditEvent, NotificationPreference


def test_own_preferences_default_then_saved_without_showing_the_webhook(app, client, token_for):
    me = token_for("reviewer", "legal", name="rita")
    empty = client.get("/api/v1/notifications/preferences", headers=me).get_json()
    assert empty["channels"] == [] and empty["mode"] == "immediate" and empty["principal"] == "rita"
    saved = set_preferences(client, me, channels=["slack", "email"], events=["decision", "routed"], mode="digest",
                            email="rita@vendor.example", webhooks={"slack": SLACK})
    assert saved["channels"] == ["email", "slack"] and saved["events"] == ["routed", "decision"]
    assert saved["webhooks"] == {"slack": True, "teams": False} and saved["mode"] == "digest"
    again = client.get("/api/v1/notifications/preferences", headers=me)
    assert again.get_json()["webhooks"]["slack"] is True and "s3cretHOOK" not in again.get_data(as_text=True)
    # a later save without the webhook keeps it; "" removes it
    kept = set_preferences(client, me, channels=["slack"], events=["decision"])
    assert kept["webhooks"]["slack"] is True and kept["mode"] == "immediate"
    gone = client.put("/api/v1/notifications/preferences", headers=me,
                      json={"channels": [], "events": [], "webhooks": {"slack": ""}}).get_json()
    assert gone["webhooks"]["slack"] is False
    with app.app_context():
        raw = db.session.execute(text("SELECT webhooks FROM notification_preferences")).scalars().all()
        stored = json.dumps([e.data for e in db.session.scalars(select(AuditEvent))])
    assert raw and all("s3cretHOOK" not in (value or "") for value in raw)
    assert "s3cretHOOK" not in stored and "hooks.slack.com" not in stored
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "notifications.preferences_updated"))]
    assert len(actions) == 3


def test_refusals_name_the_field(client, token_for):
    me = token_for("reviewer", "legal")
    cases = [
        ({"channels": ["pager"], "events": []}, "channels"),
        ({"channels": [], "events": ["lunch"]}, "events"),
        ({"channels": ["slack"], "events": ["routed"]}, "webhooks.slack"),
        ({"channels": ["teams"], "events": [], "webhooks": {"teams": "http://evil.example/hook"}}, "webhooks.teams"),
        ({"channels": ["email"], "events": ["routed"]}, "email"),
        ({"channels": [], "events": [], "mode": "hourly"}, "mode"),
        ({"channels": [], "events": [], "url": "x"}, "url"),
    ]
    for body, name in cases:
        r = client.put("/api/v1/notifications/preferences", headers=me, json=body)
        assert r.status_code == 422, (body, r.get_json())
        assert name in json.dumps(r.get_json()), (body, r.get_json())


def test_role_preferences_are_for_admins_and_known_roles(client, token_for):
    admin, reviewer = token_for("admin"), token_for("reviewer", "legal")
    assert client.get("/api/v1/notifications/roles/legal", headers=reviewer).status_code == 403
    assert client.put("/api/v1/notifications/roles/legal", headers=reviewer,
                      json={"channels": [], "events": []}).status_code == 403
    assert client.get("/api/v1/notifications/roles/catering", headers=admin).status_code == 422
    saved = set_role(client, admin, "legal", channels=["teams"], events=["routed", "escalation"], mode="digest",
                     webhooks={"teams": TEAMS})
    assert saved["role"] == "legal" and saved["mode"] == "immediate" and saved["webhooks"]["teams"] is True
    shown = client.get("/api/v1/notifications/roles/legal", headers=admin)
    assert shown.get_json()["events"] == ["routed", "escalation"] and "t3amsHOOK" not in shown.get_data(as_text=True)
    assert client.get("/api/v1/notifications/preferences").status_code == 401


def test_key_rotation_re_encrypts_webhooks(app, client, token_for, database_url):
    set_preferences(client, token_for("reviewer", "legal", name="rita"), channels=["slack"], events=["routed"],
                    webhooks={"slack": SLACK})
    old_key = app.config["CONNECTOR_ENCRYPTION_KEYS"]
    new_key = Fernet.generate_key().decode()
    rotated = create_app(app_config(database_url, CONNECTOR_ENCRYPTION_KEYS=f"{new_key},{old_key}"))
    result = rotated.test_cli_runner().invoke(args=["connector", "keys", "rotate"])
    assert result.exit_code == 0 and "re-encrypted 1 value" in result.output
    only_new = create_app(app_config(database_url, CONNECTOR_ENCRYPTION_KEYS=new_key))
    with only_new.app_context():
        assert db.session.scalar(select(NotificationPreference.webhooks)) == {"slack": SLACK}
        db.session.remove()
        db.engine.dispose()
    with rotated.app_context():
        db.engine.dispose()
