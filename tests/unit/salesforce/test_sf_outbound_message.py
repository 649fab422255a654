"""Outbound Message envelopes as Salesforce sends them, and the Ack it expects back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from adapters.salesforce.errors import OutboundMessageError
from adapters.salesforce.outbound_message import ack_response, parse_outbound_message, soap_fault

ENVELOPE = b"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00D000000000001EAA</OrganizationId>
   <ActionId>04k5g0000000001AAA</ActionId>
   <SessionId>00D000000000001!AQ4AQLiveSessionDoNotLog</SessionId>
   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D000000000001</EnterpriseUrl>
   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D000000000001</PartnerUrl>
   <Notification>
    <Id>04l5g00000000A1AAI</Id>
    <sObject xsi:type="sf:License_Exception_Request__c" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>a0X5g0000000001AAA</sf:Id>
     <sf:Baseline_Seats__c>100.0</sf:Baseline_Seats__c>
     <sf:Category__c>Seat Expansion</sf:Category__c>
     <sf:IsDeleted>false</sf:IsDeleted>
     <sf:Name>Seats for Acme &amp; Co</sf:Name>
     <sf:Requested_Regions__c>EMEA;APAC</sf:Requested_Regions__c>
     <sf:SystemModstamp>2026-11-20T10:30:00.000Z</sf:SystemModstamp>
     <sf:Use_Case__c xsi:nil="true"/>
    </sObject>
   </Notification>
   <Notification>
    <Id>04l5g00000000A2AAI</Id>
    <sObject xsi:type="sf:License_Exception_Request__c" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>a0X5g0000000002AAA</sf:Id>
     <sf:Name>Term extension</sf:Name>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>"""


def test_parses_the_documented_envelope() -> None:
    message = parse_outbound_message(ENVELOPE, expected_object="License_Exception_Request__c")
    assert message.organization_id == "00D000000000001EAA"
    assert message.action_id == "04k5g0000000001AAA"
    assert message.enterprise_url == "https://acme.my.salesforce.com/services/Soap/c/62.0/00D000000000001"
    assert [n.id for n in message.notifications] == ["04l5g00000000A1AAI", "04l5g00000000A2AAI"]
    first = message.notifications[0]
    assert first.sobject_type == "License_Exception_Request__c"
    assert first.record_id == "a0X5g0000000001AAA"
    assert first.fields == {
        "Id": "a0X5g0000000001AAA",
        "Baseline_Seats__c": "100.0",
        "Category__c": "Seat Expansion",
        "IsDeleted": "false",
        "Name": "Seats for Acme & Co",
        "Requested_Regions__c": "EMEA;APAC",
        "SystemModstamp": "2026-11-20T10:30:00.000Z",
        "Use_Case__c": None,
    }


def test_session_id_is_kept_but_never_shown() -> None:
    message = parse_outbound_message(ENVELOPE)
    assert message.session_id == "00D000000000001!AQ4AQLiveSessionDoNotLog"
    assert "LiveSession" not in repr(message)


def test_nil_session_id_is_none() -> None:
    body = ENVELOPE.replace(
        b"<SessionId>00D000000000001!AQ4AQLiveSessionDoNotLog</SessionId>", b'<SessionId xsi:nil="true"/>'
    )
    assert parse_outbound_message(body).session_id is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"<soapenv:Envelope", "malformed XML"),
        (ENVELOPE.replace(b"</notifications>", b""), "malformed XML"),
        (b"<Envelope/>", "SOAP 1.1 Envelope"),
        (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"/>', "no Body"),
        (ENVELOPE.replace(b"http://soap.sforce.com/2005/09/outbound", b"urn:other"), "no notifications"),
        (ENVELOPE.replace(b"<OrganizationId>00D000000000001EAA</OrganizationId>", b""), "OrganizationId"),
        (ENVELOPE.replace(b"00D000000000001EAA", b"not-an-id"), "OrganizationId"),
        (ENVELOPE.replace(b"<Id>04l5g00000000A1AAI</Id>", b""), "no valid Id"),
        (ENVELOPE.replace(b' xsi:type="sf:License_Exception_Request__c"', b"", 1), "xsi:type"),
        (ENVELOPE.replace(b"<sf:Name>Term extension</sf:Name>", b"<Name>Term extension</Name>"), "namespace"),
    ],
)
def test_wrong_shapes_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(OutboundMessageError) as error:
        parse_outbound_message(body)
    assert reason in error.value.message
    assert error.value.code == "MALFORMED_OUTBOUND_MESSAGE"


def test_notifications_for_another_object_are_refused() -> None:
    with pytest.raises(OutboundMessageError, match="Opportunity"):
        parse_outbound_message(ENVELOPE, expected_object="Opportunity")


def test_envelope_without_notification_is_refused() -> None:
    start = ENVELOPE.index(b"<Notification>")
    end = ENVELOPE.rindex(b"</Notification>") + len(b"</Notification>")
    with pytest.raises(OutboundMessageError, match="no Notification"):
        parse_outbound_message(ENVELOPE[:start] + ENVELOPE[end:])


@pytest.mark.parametrize(
    "prolog",
    [
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
        b'<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        b"<!doctype soapenv:Envelope>",
        b'<!ENTITY x "y">',
    ],
)
def test_dtds_and_entities_are_refused_before_parsing(prolog: bytes) -> None:
    body = ENVELOPE.replace(b'<?xml version="1.0" encoding="UTF-8"?>\n', b'<?xml version="1.0"?>\n' + prolog)
    with pytest.raises(OutboundMessageError, match="DOCTYPE"):
        parse_outbound_message(body)


def test_a_doctype_hidden_in_utf16_is_refused() -> None:
    body = ('<!DOCTYPE x [<!ENTITY a "b">]>' + ENVELOPE.decode().split("\n", 1)[1]).encode("utf-16")
    with pytest.raises(OutboundMessageError, match="DOCTYPE"):
        parse_outbound_message(body)


def test_oversized_body_is_refused() -> None:
    with pytest.raises(OutboundMessageError, match="larger"):
        parse_outbound_message(b" " * (5 * 1024 * 1024 + 1))


def test_ack_is_the_documented_notifications_response() -> None:
    root = ET.fromstring(ack_response())
    assert root.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
    ack = root.find(
        "{http://schemas.xmlsoap.org/soap/envelope/}Body/"
        "{http://soap.sforce.com/2005/09/outbound}notificationsResponse/"
        "{http://soap.sforce.com/2005/09/outbound}Ack"
    )
    assert ack is not None and ack.text == "true"
    nack = ET.fromstring(ack_response(ok=False)).find(".//{http://soap.sforce.com/2005/09/outbound}Ack")
    assert nack is not None and nack.text == "false"


def test_soap_fault_escapes_its_message() -> None:
    root = ET.fromstring(soap_fault("organization <00D> does not match"))
    fault = root.find(
        "{http://schemas.xmlsoap.org/soap/envelope/}Body/{http://schemas.xmlsoap.org/soap/envelope/}Fault"
    )
    assert fault is not None
    assert fault.findtext("faultcode") == "soapenv:Client"
    assert fault.findtext("faultstring") == "organization <00D> does not match"
