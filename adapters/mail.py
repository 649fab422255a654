"""SMTP transport for notification e-mails: one session per batch, TLS whenever the server offers it, and never a
password over a connection without it.

``smtp://user:password@host:587`` uses STARTTLS when the server offers it, ``smtps://`` implicit TLS. The caller
builds the messages; this module only opens the session and says, message by message, what the server answered.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

SMTP_PORT = 25
SMTPS_PORT = 465


class MailError(Exception):
    """The session could not be opened; no message of the batch was sent."""


class MailServerUnavailable(MailError):
    """Connecting, TLS or login failed: transient, try the batch again later."""


class InsecureMailServer(MailError):
    """Credentials are configured but the server offers no TLS: an admin must change the server or the URL."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to reach the mail server (parsed from ``CONNECTOR_SMTP_URL``)."""

    host: str
    port: int
    implicit_tls: bool = False
    username: str | None = None
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """``smtp://`` or ``smtps://`` URLs only (``ValueError`` otherwise); credentials are percent-decoded."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("not a smtp:// or smtps:// URL")
        implicit = parts.scheme == "smtps"
        return cls(host=parts.hostname, port=parts.port or (SMTPS_PORT if implicit else SMTP_PORT),
                   implicit_tls=implicit, username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password or ""))


@dataclass(frozen=True)
class SendResult:
    """What the server answered for one message: sent, refused for good (the recipient), or worth retrying."""

    ok: bool
    retriable: bool = False
    detail: str = ""


def send_all(server: SmtpServer, messages: Sequence[EmailMessage], timeout: float) -> list[SendResult]:
    """Send ``messages`` in one session, one result each, in order. Raises ``MailError`` when no session could be
    opened (nothing was sent)."""
    with _session(server, timeout) as client:
        return [_send(client, message) for message in messages]


def _send(client: smtplib.SMTP, message: EmailMessage) -> SendResult:
    try:
        client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        return SendResult(False, detail=f"recipient refused: {exc.recipients}")
    except (OSError, smtplib.SMTPException) as exc:
        return SendResult(False, retriable=True, detail=f"mail server: {type(exc).__name__}: {exc}")
    return SendResult(True)


@contextmanager
def _session(server: SmtpServer, timeout: float) -> Iterator[smtplib.SMTP]:
    try:
        client, secure = _connect(server, timeout)
        if server.username:
            if not secure:
                client.quit()
                raise InsecureMailServer("the mail server offers no TLS; the password is not sent in clear")
            client.login(server.username, server.password)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailServerUnavailable(f"mail server: {type(exc).__name__}") from exc
    with client:
        yield client


def _connect(server: SmtpServer, timeout: float) -> tuple[smtplib.SMTP, bool]:
    """A connected client and whether the session is encrypted (implicit TLS, or STARTTLS when offered)."""
    if server.implicit_tls:
        return smtplib.SMTP_SSL(server.host, server.port, timeout=timeout), True
    client = smtplib.SMTP(server.host, server.port, timeout=timeout)
    client.ehlo()
    if not client.has_extn("starttls"):
        return client, False
    client.starttls()
    client.ehlo()
    return client, True
