"""Provisioning and webhooks over loopback: fields, webhook + signing secret, trigger, signed deliveries."""

from __future__ import annotations

import json
import time

import pytest

from adapters.zendesk.errors import FatalError
from adapters.zendesk.webhook import (
    INVOCATION_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSignatureError,
    parse_webhook_event,
    verify_signature,
)


def header(headers: dict[str, str], name: str) -> str:
    return next(value for key, value in headers.items() if key.lower() == name.lower())


def test_a_fired_webhook_verifies_with_the_signing_secret(make_sandbox, connect, receiver):
    sandbox = make_sandbox(tickets=5)
    client = connect(sandbox)
    webhook_id = client.create_webhook("License exceptions", receiver.url)
    secret = client.webhook_signing_secret(webhook_id)
    ticket_id = sandbox.ticket_ids()[2]

    response = sandbox.fire_webhook(receiver.url, ticket_id, webhook_id=webhook_id)

    assert response.status_code == 200
    headers, body = receiver.wait_for(1)[0]
    verify_signature(secret, header(headers, TIMESTAMP_HEADER), body, header(headers, SIGNATURE_HEADER))
    assert parse_webhook_event(body) == str(ticket_id)
    assert header(headers, INVOCATION_ID_HEADER)
    with pytest.raises(WebhookSignatureError):
        verify_signature(
            "some-other-secret", header(headers, TIMESTAMP_HEADER), body, header(headers, SIGNATURE_HEADER)
        )


def test_the_provisioned_trigger_notifies_the_webhook_when_an_agent_tags_a_ticket(make_sandbox, connect, receiver):
    sandbox = make_sandbox(tickets=10, seed=6)
    client = connect(sandbox)
    webhook_id = client.create_webhook("License exceptions", receiver.url)
    secret = client.webhook_signing_secret(webhook_id)
    trigger = client.create_trigger("Notify the license exception connector", webhook_id, "license_exception")
    plain = next(t for t in sandbox.ticket_ids() if "license_exception" not in sandbox.ticket(t)["tags"])

    assert trigger["actions"] == [
        {"field": "notification_webhook", "value": [webhook_id, '{"ticket_id": "{{ticket.id}}"}']}
    ]
    sandbox.agent_edit(plain, comment="not an exception yet")
    sandbox.flush_webhooks()
    assert receiver.received == []

    sandbox.agent_edit(plain, add_tags=["license_exception"])
    sandbox.flush_webhooks()
    created = sandbox.create_ticket("Need 40 more seats", "Team grows in March.")
    sandbox.flush_webhooks()

    deliveries = receiver.wait_for(2)
    assert [json.loads(body) for _, body in deliveries] == [{"ticket_id": str(plain)}, {"ticket_id": str(created)}]
    for headers, body in deliveries:
        verify_signature(
            secret, header(headers, TIMESTAMP_HEADER), body, header(headers, SIGNATURE_HEADER), now=time.time()
        )


def test_ticket_fields_can_be_provisioned_and_listed(make_sandbox, connect):
    sandbox = make_sandbox(tickets=1)
    client = connect(sandbox)

    created = client.create_ticket_field(
        "tagger", "Renewal mode", options=[("None", "lec_renewal_none"), ("Manual", "lec_renewal_manual")]
    )
    fields = client.ticket_fields()

    by_id = {f["id"]: f for f in fields}
    assert created["id"] in by_id
    assert [o["value"] for o in by_id[created["id"]]["custom_field_options"]] == [
        "lec_renewal_none",
        "lec_renewal_manual",
    ]
    for name, field_id in sandbox.field_ids.items():
        assert field_id in by_id, name
    assert by_id[sandbox.field_ids["requested_regions"]]["type"] == "multiselect"
    assert any(not f["removable"] for f in fields), "system fields are listed too"
    with pytest.raises(FatalError):
        client.create_ticket_field("tagger", "Clash", options=[("Dup", "lec_renewal_none")])
