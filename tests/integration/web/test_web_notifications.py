"""The Notifications page: a signed-in person sets their own channels, events and digest; the webhook is never
shown back; bad input is marked on its field; a form without its CSRF token changes nothing."""

from __future__ import annotations

import re

from sqlalchemy import select

from connector.db import db
from connector.models import NotificationPreference

HOOK = "https://hooks.slack.com/services/T000/B000/webS3cret"


def test_a_person_sets_digest_on_slack_and_email(app, signed_in, csrf):
    rita = signed_in("reviewer", "legal", email="rita@vendor.example")
    page = rita.get("/notifications").get_data(as_text=True)
    assert "Your sign-in e-mail: rita@vendor.example" in page and ">Notifications</a>" in page
    r = rita.post("/notifications", data={"csrf_token": csrf(page), "channels": ["slack", "email"],
                                          "events": ["routed", "decision"], "mode": "digest",
                                          "slack_webhook": HOOK})
    assert r.status_code == 303, r.get_data(as_text=True)
    shown = rita.get("/notifications").get_data(as_text=True)
    assert "Your notifications are saved." in shown and "Slack webhook: set" in shown and "webS3cret" not in shown
    assert re.search(r'<input checked[^>]*value="digest"', shown) and re.search(r'<input checked[^>]*value="slack"',
                                                                              shown)
    with app.app_context():
        pref = db.session.scalar(select(NotificationPreference))
        assert (pref.channels, pref.events, pref.mode, pref.webhooks) == (
            ["email", "slack"], ["routed", "decision"], "digest", {"slack": HOOK})


def test_refusals_are_marked_and_nothing_saved(app, signed_in, csrf):
    sam = signed_in("reviewer", "sales")
    page = sam.get("/notifications").get_data(as_text=True)
    r = sam.post("/notifications", data={"csrf_token": csrf(page), "channels": ["teams"], "events": ["routed"],
                                         "mode": "immediate"})
    assert r.status_code == 422 and "Required when teams is a channel." in r.get_data(as_text=True)
    r = sam.post("/notifications", data={"csrf_token": csrf(page), "channels": ["slack"], "events": ["routed"],
                                         "mode": "immediate", "slack_webhook": "http://hooks.example/x"})
    assert r.status_code == 422 and "https://" in r.get_data(as_text=True)
    r = sam.post("/notifications", data={"channels": ["email"], "events": ["routed"], "mode": "immediate"})
    assert r.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(NotificationPreference)) is None


def test_signed_out_goes_to_sign_in(client):
    r = client.get("/notifications")
    assert r.status_code == 302 and "/sign-in" in r.headers["Location"]
