"""Verifying and reading Zendesk webhook requests.

Zendesk signs each request with ``X-Zendesk-Webhook-Signature`` = base64(HMAC-SHA256(signing secret,
``X-Zendesk-Webhook-Signature-Timestamp`` + raw body)); the timestamp is ISO 8601 in UTC
(``2026-11-20T10:30:00Z``). Checking the timestamp against a tolerance stops replays of old requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

from .errors import WebhookPayloadError, WebhookSignatureError

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
#: Same value on every retry of one invocation: use it to ignore duplicate deliveries.
INVOCATION_ID_HEADER = "X-Zendesk-Webhook-Invocation-Id"
WEBHOOK_ID_HEADER = "X-Zendesk-Webhook-Id"
DEFAULT_TOLERANCE = 300.0
TICKET_EVENT_PREFIX = "zen:event-type:ticket."

__all__ = [
    "INVOCATION_ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WEBHOOK_ID_HEADER",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "format_timestamp",
    "parse_timestamp",
    "parse_webhook_event",
    "replay_digest",
    "sign",
    "verify_signature",
]


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The signature Zendesk would send for this timestamp and raw body."""
    digest = hmac.new(_key(secret), timestamp.encode("utf-8") + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def format_timestamp(when: float) -> str:
    """A Unix time in the webhook timestamp format (``2026-11-20T10:30:00Z``)."""
    return datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(timestamp: str) -> float:
    """A signature timestamp as Unix time (``ValueError`` when unreadable)."""
    text = timestamp.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def verify_signature(
    secret: str | bytes,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    now: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> None:
    """Return quietly for a genuine, fresh request; raise ``WebhookSignatureError`` otherwise.

    Codes: ``missing_signature`` (no signature, timestamp or secret), ``bad_signature`` (HMAC mismatch,
    compared in constant time), ``stale_timestamp`` (unreadable, or more than ``tolerance`` seconds from
    ``now`` in either direction).
    """
    if not signature or not timestamp or not secret:
        raise WebhookSignatureError("missing_signature", "the request carries no webhook signature")
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8", "replace")):
        raise WebhookSignatureError("bad_signature", "the webhook signature does not match the body")
    try:
        sent_at = parse_timestamp(timestamp)
    except ValueError as exc:
        raise WebhookSignatureError("stale_timestamp", f"unreadable signature timestamp {timestamp!r}") from exc
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        raise WebhookSignatureError(
            "stale_timestamp", f"signature timestamp {timestamp} is more than {tolerance:g} s from now"
        )


def replay_digest(timestamp: str, signature: str) -> str:
    """What identifies one signed request: a digest of its timestamp and signature (the HMAC covers the
    timestamp and the body, so a replay carries the same pair whatever headers it changed)."""
    return hashlib.sha256(f"{timestamp.strip()}\n{signature.strip()}".encode("utf-8", "replace")).hexdigest()


def parse_webhook_event(body: bytes) -> str:
    """The ticket id a verified webhook is about.

    Accepts the trigger body ``{"ticket_id": "123"}`` and event subscription payloads
    (``"type": "zen:event-type:ticket.*"``, id in ``detail.id``).
    """
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookPayloadError("invalid_json", "the webhook body is not JSON") from exc
    except RecursionError as exc:  # signed, but nested beyond any Zendesk payload
        raise WebhookPayloadError("invalid_payload", "the webhook body nests too deeply") from exc
    if not isinstance(payload, dict):
        raise WebhookPayloadError("invalid_payload", "the webhook body is not a JSON object")
    if "ticket_id" in payload:
        candidate = payload["ticket_id"]
    elif str(payload.get("type", "")).startswith(TICKET_EVENT_PREFIX):
        detail = payload.get("detail")
        candidate = detail.get("id") if isinstance(detail, dict) else None
    else:
        raise WebhookPayloadError("unsupported_event", f"no ticket id in a webhook of type {payload.get('type')!r}")
    ticket_id = str(candidate).strip() if candidate is not None else ""
    if not (ticket_id.isascii() and ticket_id.isdigit() and len(ticket_id) <= 19):  # "²" is a digit to str
        raise WebhookPayloadError("invalid_ticket_id", f"ticket id {candidate!r} is not a number")
    return ticket_id
