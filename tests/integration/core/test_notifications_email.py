"""Notifications by e-mail ride the existing ``email`` target: the sign-in address by default, and a notification
is never superseded by a later e-mail about the same request (the escalation contact's), nor supersedes one."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from sqlalchemy import select
from support.notifications import notices, set_preferences

from connector import delivery, operations
from connector.db import db
from connector.models import Delivery, ExceptionRequest
from connector.web.accounts import create_account

SENT: list = []


class FakeSMTP:
    def __init__(self, host, port, timeout=None):
        self.host = host

    def ehlo(self):
        return 250, b"ok"

    def has_extn(self, name):
        return name == "starttls"

    def starttls(self):
        return 220, b"ready"

    def login(self, user, password):
        return None

    def send_message(self, message):
        SENT.append(message)

    def quit(self):
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


@pytest.fixture
def app_overrides():
    return {"CONNECTOR_SMTP_URL": "smtp://mail.example.com:587", "CONNECTOR_MAIL_FROM": "bot@vendor.example"}


def test_email_notifications_and_the_escalation_email_all_go_out(app, client, token_for, large, monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    SENT.clear()
    with app.app_context():
        create_account("sam@vendor.example", "reviewer", ["sales"], password="correct horse battery staple",
                       actor="test")
        db.session.commit()
    sam = token_for("reviewer", "sales", name="sam@vendor.example")
    set_preferences(client, sam, channels=["email"], events=["routed", "escalation"])
    req = client.post("/api/v1/requests", json=large, headers=token_for("intake")).get_json()
    with app.app_context():
        due = db.session.scalar(select(ExceptionRequest.due_at).where(ExceptionRequest.id == req["id"]))
        assert operations.run_sla(due + timedelta(hours=1))["escalations"] == 1
        db.session.commit()
        changes = [(d.target, d.change, d.status) for d in db.session.scalars(select(Delivery).order_by(Delivery.id))]
        assert changes == [("email", "notify.routed", "pending"), ("email", "escalated", "pending"),
                           ("email", "notify.escalation", "pending")]
        assert delivery.drain()["delivered"] == 3
    assert [m["To"] for m in SENT] == ["sam@vendor.example", "license-governance@example.com", "sam@vendor.example"]
    assert SENT[0]["Subject"].startswith(f"[{req['key']}] {req['key']} \"{large['title']}\" needs a review by ")
    assert "Overdue" in SENT[2]["Subject"] and "Open it: " in SENT[2].get_content()
    assert {d.status for d in notices(app)} == {"delivered"}
