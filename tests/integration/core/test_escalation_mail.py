"""An overdue request is escalated once, and the policy's escalation contact is e-mailed through the outbox."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest

from connector import delivery, operations
from connector.db import db
from connector.models import utcnow

SENT: list = []


class FakeSMTP:
    """Stands in for smtplib.SMTP: records what would be sent."""

    def __init__(self, host, port, timeout=None):
        self.host, self.port, self.logged_in = host, port, None

    def ehlo(self):
        return 250, b"ok"

    def has_extn(self, name):
        return name == "starttls"

    def starttls(self):
        return 220, b"ready"

    def login(self, user, password):
        self.logged_in = (user, password)

    def send_message(self, message):
        if message["To"] == "nobody@nowhere.invalid":
            raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such user")})
        SENT.append((self.host, self.port, self.logged_in, message))

    def quit(self):
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


@pytest.fixture
def app_overrides():
    return {"CONNECTOR_SMTP_URL": "smtp://mailer:s%40cret@mail.example.com:587",
            "CONNECTOR_MAIL_FROM": "governance-bot@vendor.example"}


def test_overdue_request_emails_the_escalation_contact_once(app, client, token_for, large, monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    SENT.clear()
    req = client.post("/api/v1/requests", json=large, headers=token_for("intake")).get_json()
    with app.app_context():
        later = utcnow() + timedelta(days=30)
        assert operations.run_sla(later)["escalations"] == 1
        assert operations.run_sla(later)["escalations"] == 0
        db.session.commit()
        assert delivery.drain()["delivered"] == 1
    [(host, port, login, message)] = SENT
    assert (host, port, login) == ("mail.example.com", 587, ("mailer", "s@cret"))
    assert message["To"] == "license-governance@example.com" and message["From"] == "governance-bot@vendor.example"
    assert req["key"] in message["Subject"] and "overdue" in message.get_content()
    listed = client.get("/api/v1/deliveries?target=email", headers=token_for("admin")).get_json()["items"]
    assert [d["status"] for d in listed] == ["delivered"]
