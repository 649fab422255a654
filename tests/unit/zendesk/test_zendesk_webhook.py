"""Inbound webhook verification (HMAC over timestamp + raw body) and payload parsing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from adapters.zendesk.webhook import (
    WebhookPayloadError,
    WebhookSignatureError,
    parse_webhook_event,
    sign,
    verify_signature,
)

SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
TIMESTAMP = "2026-11-20T10:30:00Z"
SENT_AT = 1795170600.0  # 2026-11-20T10:30:00Z
BODY = b'{"ticket_id": "35436"}'


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Independent of the code under test: base64(HMAC-SHA256(secret, timestamp + body))."""
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()).decode()


def test_a_genuine_request_verifies():
    verify_signature(SECRET, TIMESTAMP, BODY, zendesk_signature(SECRET, TIMESTAMP, BODY), now=SENT_AT + 12)


def test_sign_matches_zendesk_scheme():
    assert sign(SECRET, TIMESTAMP, BODY) == zendesk_signature(SECRET, TIMESTAMP, BODY)
    assert sign(SECRET.encode(), TIMESTAMP, BODY) == zendesk_signature(SECRET, TIMESTAMP, BODY)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body"),
    [
        ("another-secret", TIMESTAMP, BODY),
        (SECRET, TIMESTAMP, b'{"ticket_id": "1"}'),
        (SECRET, "2026-11-20T10:30:01Z", BODY),
    ],
    ids=["wrong secret", "tampered body", "tampered timestamp"],
)
def test_forged_signatures_are_refused(secret, timestamp, body):
    forged = zendesk_signature(secret, TIMESTAMP, body)
    with pytest.raises(WebhookSignatureError) as caught:
        verify_signature(SECRET, timestamp, BODY, forged, now=SENT_AT)
    assert caught.value.code == "bad_signature"


def test_garbage_signature_is_refused():
    with pytest.raises(WebhookSignatureError) as caught:
        verify_signature(SECRET, TIMESTAMP, BODY, "not base64 at all ☃", now=SENT_AT)
    assert caught.value.code == "bad_signature"


@pytest.mark.parametrize("offset", [301, -301, 86400])
def test_stale_or_future_timestamps_are_refused_even_with_a_valid_signature(offset):
    signature = zendesk_signature(SECRET, TIMESTAMP, BODY)
    with pytest.raises(WebhookSignatureError) as caught:
        verify_signature(SECRET, TIMESTAMP, BODY, signature, now=SENT_AT + offset)
    assert caught.value.code == "stale_timestamp"


def test_timestamps_within_tolerance_pass():
    signature = zendesk_signature(SECRET, TIMESTAMP, BODY)
    verify_signature(SECRET, TIMESTAMP, BODY, signature, now=SENT_AT + 299)
    verify_signature(SECRET, TIMESTAMP, BODY, signature, now=SENT_AT - 299)


def test_unreadable_timestamp_is_refused():
    signature = zendesk_signature(SECRET, "yesterday", BODY)
    with pytest.raises(WebhookSignatureError) as caught:
        verify_signature(SECRET, "yesterday", BODY, signature, now=SENT_AT)
    assert caught.value.code == "stale_timestamp"


@pytest.mark.parametrize(("timestamp", "signature"), [(TIMESTAMP, None), (None, "abc"), (TIMESTAMP, "")])
def test_missing_headers_are_refused(timestamp, signature):
    with pytest.raises(WebhookSignatureError) as caught:
        verify_signature(SECRET, timestamp, BODY, signature, now=SENT_AT)
    assert caught.value.code == "missing_signature"


def test_trigger_body_gives_the_ticket_id():
    assert parse_webhook_event(b'{"ticket_id": "35436"}') == "35436"
    assert parse_webhook_event(b'{"ticket_id": 35436}') == "35436"


def test_event_subscription_payload_gives_the_ticket_id():
    event = {
        "account_id": 12345678,
        "detail": {"id": "35436", "status": "OPEN", "tags": ["license_exception"]},
        "event": {"current": "OPEN", "previous": "NEW"},
        "id": "cbe4028c-7239-495d-b020-f22348516046",
        "subject": "zen:ticket:35436",
        "time": "2026-11-20T10:30:00Z",
        "type": "zen:event-type:ticket.status_changed",
        "zendesk_event_version": "2022-11-06",
    }
    assert parse_webhook_event(json.dumps(event).encode()) == "35436"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "invalid_json"),
        (b"[1, 2]", "invalid_payload"),
        (b'{"type": "zen:event-type:user.created", "detail": {"id": "9"}}', "unsupported_event"),
        (b'{"ticket_id": "{{ticket.id}}"}', "invalid_ticket_id"),
        (b'{"type": "zen:event-type:ticket.created", "detail": {}}', "invalid_ticket_id"),
        ('{"ticket_id": "\u00b2"}'.encode(), "invalid_ticket_id"),  # a digit to str.isdigit, not to int()
        (b'{"ticket_id": "' + b"9" * 40 + b'"}', "invalid_ticket_id"),
        (b'{"ticket_id": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "invalid_payload"),
    ],
)
def test_payloads_without_a_ticket_id_are_refused(body, code):
    with pytest.raises(WebhookPayloadError) as caught:
        parse_webhook_event(body)
    assert caught.value.code == code
