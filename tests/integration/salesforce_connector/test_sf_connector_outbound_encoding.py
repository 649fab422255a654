"""``POST /webhooks/salesforce/<name>`` with an unknown XML encoding answers like any malformed message."""

from __future__ import annotations

from integration.salesforce_connector.mock_org import MockOrg, post


def test_an_unknown_xml_encoding_is_400_malformed_outbound_message(client, org: MockOrg, connected) -> None:
    r = post(client, '<?xml version="1.0" encoding="bogus"?><a/>')
    assert r.status_code == 400, r.get_data(as_text=True)
    body = r.get_json()
    assert body["code"] == "malformed_outbound_message" and "encoding" in body["message"]
