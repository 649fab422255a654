"""Admins set a committee role's channel in the UI (a team's Teams channel, a shared mailbox): the same rules as
``PUT /api/v1/notifications/roles/<role>``, the webhook never shown back, refusals on their fields."""

from __future__ import annotations

from sqlalchemy import select

from connector.db import db
from connector.models import NotificationPreference

TEAMS = "https://example.webhook.office.com/webhookb2/legal-S3cret"


def test_an_admin_gives_the_legal_role_a_teams_channel(app, signed_in, csrf):
    ada = signed_in("admin", email="ada@vendor.example")
    page = ada.get("/notifications").get_data(as_text=True)
    assert "Committee role channels" in page and 'href="/notifications/roles/legal"' in page
    form = ada.get("/notifications/roles/legal").get_data(as_text=True)
    assert "Notifications of the Legal role" in form and 'name="mode"' not in form  # a role hears at once
    r = ada.post("/notifications/roles/legal", data={"csrf_token": csrf(form), "channels": ["teams", "email"],
                                                      "events": ["routed", "reminder"],
                                                      "email": "legal-review@vendor.example", "teams_webhook": TEAMS})
    assert r.status_code == 303, r.get_data(as_text=True)
    shown = ada.get("/notifications").get_data(as_text=True)
    assert "The Legal role&#39;s channel is saved." in shown
    row = shown.split('href="/notifications/roles/legal"')[1].split("</tr>")[0]
    assert "<td>E-mail, Microsoft Teams</td>" in row and "<td>Routed, Reminder</td>" in row and "by ada@vendor" in row
    again = ada.get("/notifications/roles/legal").get_data(as_text=True)
    assert "Microsoft Teams webhook: set" in again and "S3cret" not in again
    with app.app_context():
        pref = db.session.scalar(select(NotificationPreference).where(NotificationPreference.role == "legal"))
        assert pref is not None and (pref.mode, pref.email, pref.webhooks) == (
            "immediate", "legal-review@vendor.example", {"teams": TEAMS})


def test_refusals_and_who_may(app, signed_in, csrf):
    ada = signed_in("admin")
    form = ada.get("/notifications/roles/security").get_data(as_text=True)
    r = ada.post("/notifications/roles/security", data={"csrf_token": csrf(form), "channels": ["teams"],
                                                         "events": ["routed"]})
    assert r.status_code == 422 and "Required when teams is a channel." in r.get_data(as_text=True)
    assert ada.get("/notifications/roles/janitor").status_code == 404
    rita = signed_in("reviewer", "legal")
    assert rita.get("/notifications/roles/legal").status_code == 403
    assert "Committee role channels" not in rita.get("/notifications").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(NotificationPreference)) is None
