"""The e-mail sender: an overdue request's escalation reaches its contact through the outbox, and what the mail
server answers becomes each delivery's outcome."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest

from connector import delivery, operations, senders
from connector.config import reconfigure
from connector.db import db
from connector.models import Delivery, utcnow
from connector.sources import Outcome

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


def mail_to(*addresses: str) -> list[Delivery]:
    """Unsaved e-mail deliveries, as ``send_claimed`` hands them to the sender."""
    return [Delivery(id=n, target="email", message_id=f"m{n}", payload={"to": to, "subject": "s", "body": "b"})
            for n, to in enumerate(addresses, 1)]


class PlainSMTP(FakeSMTP):
    """A server that offers no STARTTLS."""

    def has_extn(self, name):
        return False


class DownSMTP(FakeSMTP):
    def __init__(self, host, port, timeout=None):
        raise ConnectionRefusedError("connection refused")


def test_each_message_gets_its_own_outcome(app, monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    SENT.clear()
    with app.app_context():
        outcomes = senders.send_email("email", mail_to("a@example.com", "nobody@nowhere.invalid"))
    assert [o.result for o in outcomes] == ["delivered", "dead"] and "recipient refused" in outcomes[1].detail
    assert SENT[0][3]["Message-ID"] == "<m1@connector>"


def test_no_password_without_tls_and_an_unreachable_server_is_retried(app, monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", PlainSMTP)
    with app.app_context():
        assert senders.send_email("email", mail_to("a@example.com")) == [
            Outcome("held", "the mail server offers no TLS; the password is not sent in clear", retry_after=600)]
        monkeypatch.setattr(smtplib, "SMTP", DownSMTP)
        assert senders.send_email("email", mail_to("a@example.com")) == [
            Outcome("retry", "mail server: ConnectionRefusedError")]


def test_a_url_that_is_not_smtp_holds_the_mail(app):
    reconfigure(app, CONNECTOR_SMTP_URL="https://mail.example.com")
    with app.app_context():
        [outcome] = senders.send_email("email", mail_to("a@example.com"))
    assert outcome.result == "held" and "CONNECTOR_SMTP_URL" in outcome.detail
