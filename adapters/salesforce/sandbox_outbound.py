"""Outbound Messages as the sandbox org sends them: the SOAP ``notifications`` envelope per the
Outbound Messaging WSDL, values rendered as the enterprise WSDL types them, empty fields left out."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from .outbound_message import OUTBOUND_NS, SOAP_ENV_NS, SOBJECT_NS, XSI_NS
from .sandbox_records import FieldSpec, make_id, parse_datetime

XSD_NS = "http://www.w3.org/2001/XMLSchema"


def build_envelope(
    *,
    org_id: str,
    object_name: str,
    base_url: str,
    api_version: str,
    rows: Sequence[dict[str, Any]],
    fields: Sequence[FieldSpec],
    notification_ids: Sequence[str],
    session_id: str | None = None,
    action_id: str | None = None,
) -> bytes:
    """One ``notifications`` call for ``rows`` (one Notification each) with the selected ``fields``."""
    base = escape(base_url)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}" xmlns:xsd="{XSD_NS}" xmlns:xsi="{XSI_NS}">',
        "<soapenv:Body>",
        f'<notifications xmlns="{OUTBOUND_NS}">',
        f"<OrganizationId>{org_id}</OrganizationId>",
        f"<ActionId>{action_id or make_id('04k', 1)}</ActionId>",
        f"<SessionId>{escape(session_id)}</SessionId>" if session_id else '<SessionId xsi:nil="true"/>',
        f"<EnterpriseUrl>{base}/services/Soap/c/{api_version}/{org_id[:15]}</EnterpriseUrl>",
        f"<PartnerUrl>{base}/services/Soap/u/{api_version}/{org_id[:15]}</PartnerUrl>",
    ]
    for notification_id, row in zip(notification_ids, rows, strict=True):
        parts.append(f"<Notification><Id>{notification_id}</Id>")
        parts.append(f'<sObject xsi:type="sf:{object_name}" xmlns:sf="{SOBJECT_NS}">')
        for spec in fields:
            value = row.get(spec.name)
            if value is not None:
                parts.append(f"<sf:{spec.name}>{escape(soap_value(spec, value))}</sf:{spec.name}>")
        parts.append("</sObject></Notification>")
    parts.extend(["</notifications>", "</soapenv:Body>", "</soapenv:Envelope>"])
    return "".join(parts).encode("utf-8")


def soap_value(spec: FieldSpec, value: Any) -> str:
    """A stored REST value as SOAP renders it: ``true``/``false``, datetimes in ``…000Z``."""
    if spec.type == "boolean":
        return "true" if value else "false"
    if spec.type == "datetime":
        moment = parse_datetime(value)
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"
    return str(value)


def is_ack(body: bytes) -> bool:
    """Whether a listener answered ``notificationsResponse/Ack`` = ``true``."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return False
    ack = root.find(f".//{{{OUTBOUND_NS}}}notificationsResponse/{{{OUTBOUND_NS}}}Ack")
    return ack is not None and (ack.text or "").strip() == "true"
