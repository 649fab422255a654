"""The SMTP transport: what a CONNECTOR_SMTP_URL means, TLS before any password, one result per message."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from adapters import mail


def test_urls_give_the_port_of_their_scheme_and_decoded_credentials():
    assert mail.SmtpServer.from_url("smtp://mailer:s%40cret@mail.example.com:587") == mail.SmtpServer(
        "mail.example.com", 587, implicit_tls=False, username="mailer", password="s@cret")
    assert mail.SmtpServer.from_url("smtps://mail.example.com") == mail.SmtpServer("mail.example.com", 465, True)
    assert mail.SmtpServer.from_url("smtp://mail.example.com").port == 25
    for bad in ("", "https://mail.example.com", "smtp://"):
        with pytest.raises(ValueError):
            mail.SmtpServer.from_url(bad)


class Server:
    """Stands in for smtplib.SMTP / SMTP_SSL and records the conversation."""

    log: list[str] = []
    starttls_offered = True

    def __init__(self, host, port, timeout=None):
        self.log.append(f"connect {host}:{port} {type(self).__name__}")

    def ehlo(self):
        return 250, b"ok"

    def has_extn(self, name):
        return name == "starttls" and self.starttls_offered

    def starttls(self):
        self.log.append("starttls")

    def login(self, user, password):
        self.log.append(f"login {user}")

    def send_message(self, message):
        if message["To"] == "refused@example.com":
            raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such user")})
        if message["To"] == "flaky@example.com":
            raise smtplib.SMTPServerDisconnected("gone")
        self.log.append(f"send {message['To']}")

    def quit(self):
        self.log.append("quit")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()


class PlainServer(Server):
    starttls_offered = False


def message(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "bot@example.com", to, "hello"
    msg.set_content("body")
    return msg


@pytest.fixture(autouse=True)
def fresh_log():
    Server.log = []


def test_starttls_before_login_and_one_result_per_message(monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", Server)
    server = mail.SmtpServer("mail.example.com", 587, username="mailer", password="pw")
    results = mail.send_all(server, [message(to) for to in ("a@example.com", "refused@example.com",
                                                            "flaky@example.com")], timeout=5)
    assert [(r.ok, r.retriable) for r in results] == [(True, False), (False, False), (False, True)]
    assert "recipient refused" in results[1].detail and "SMTPServerDisconnected" in results[2].detail
    assert Server.log == ["connect mail.example.com:587 Server", "starttls", "login mailer", "send a@example.com",
                          "quit"]


def test_implicit_tls_logs_in_without_starttls(monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP_SSL", PlainServer)
    server = mail.SmtpServer("mail.example.com", 465, implicit_tls=True, username="mailer", password="pw")
    assert mail.send_all(server, [message("a@example.com")], timeout=5)[0].ok
    assert Server.log[:2] == ["connect mail.example.com:465 PlainServer", "login mailer"]


def test_a_password_is_never_sent_without_tls(monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", PlainServer)
    with pytest.raises(mail.InsecureMailServer):
        mail.send_all(mail.SmtpServer("mail.example.com", 25, username="mailer"), [message("a@example.com")], 5)
    assert not any(line.startswith(("login", "send")) for line in Server.log)


def test_without_credentials_a_plain_server_is_fine(monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", PlainServer)
    assert mail.send_all(mail.SmtpServer("mail.example.com", 25), [message("a@example.com")], 5)[0].ok


def test_an_unreachable_server_sends_nothing(monkeypatch):
    def refuse(host, port, timeout=None):
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    with pytest.raises(mail.MailServerUnavailable, match="ConnectionRefusedError"):
        mail.send_all(mail.SmtpServer("mail.example.com", 25), [message("a@example.com")], 5)
