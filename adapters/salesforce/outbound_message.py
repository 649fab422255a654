"""Salesforce Outbound Messages: parse the SOAP ``notifications`` envelope, answer with an Ack.

The envelope (per the Outbound Messaging WSDL) is ``soapenv:Envelope/soapenv:Body/notifications`` in
namespace ``http://soap.sforce.com/2005/09/outbound`` with ``OrganizationId``, ``ActionId``, ``SessionId``
(nillable), ``EnterpriseUrl``, ``PartnerUrl`` and up to 100 ``Notification`` elements, each an ``Id`` and an
``sObject`` whose ``xsi:type`` names the object and whose fields live in
``urn:sobject.enterprise.soap.sforce.com``. Salesforce retries until it receives ``<Ack>true</Ack>``, and may
deliver a notification more than once: the notification ``Id`` is the de-duplication key.

``xml.etree`` expands no external entities, but it would expand internal ones declared in a DTD, so any
payload with a DOCTYPE or ENTITY declaration is refused before parsing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .errors import OutboundMessageError

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOBJECT_NS = "urn:sobject.enterprise.soap.sforce.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_NOTIFICATIONS = 100

_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


@dataclass(frozen=True)
class OutboundNotification:
    """One changed record: ``id`` is the notification id (de-duplication key), ``record_id`` the record's
    ``Id``, ``fields`` the values Salesforce sent as text (``None`` for ``xsi:nil``)."""

    id: str
    sobject_type: str
    record_id: str | None
    fields: dict[str, str | None]


@dataclass(frozen=True)
class OutboundMessage:
    """A parsed ``notifications`` call. ``session_id`` is a live Salesforce session when the outbound
    message is configured to send one: it is excluded from ``repr`` and must never be logged or stored."""

    organization_id: str
    action_id: str
    enterprise_url: str | None
    partner_url: str | None
    notifications: tuple[OutboundNotification, ...]
    session_id: str | None = field(default=None, repr=False)


def parse_outbound_message(body: bytes | str, expected_object: str | None = None) -> OutboundMessage:
    """Parse an Outbound Message request body; ``OutboundMessageError`` says what is wrong with it."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(raw) > MAX_BODY_BYTES:
        raise OutboundMessageError(f"body larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise OutboundMessageError("empty body")
    if _FORBIDDEN.search(raw) or _FORBIDDEN.search(_utf16_view(raw)):
        raise OutboundMessageError("DOCTYPE and ENTITY declarations are not accepted")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise OutboundMessageError(f"malformed XML: {exc}") from exc
    except (LookupError, ValueError) as exc:  # expat asks Python for the declared encoding: unknown or unusable
        raise OutboundMessageError(f"malformed XML: the declared encoding cannot be read ({exc}); "
                                   "Salesforce sends UTF-8") from exc

    if root.tag != f"{{{SOAP_ENV_NS}}}Envelope":
        raise OutboundMessageError("root element is not a SOAP 1.1 Envelope")
    soap_body = root.find(f"{{{SOAP_ENV_NS}}}Body")
    if soap_body is None:
        raise OutboundMessageError("SOAP Envelope has no Body")
    notifications = soap_body.find(f"{{{OUTBOUND_NS}}}notifications")
    if notifications is None:
        raise OutboundMessageError(f"SOAP Body has no notifications element in namespace {OUTBOUND_NS}")

    organization_id = _required_id(notifications, "OrganizationId")
    action_id = _required_id(notifications, "ActionId")
    items = notifications.findall(f"{{{OUTBOUND_NS}}}Notification")
    if not items:
        raise OutboundMessageError("notifications contains no Notification")
    if len(items) > MAX_NOTIFICATIONS:
        raise OutboundMessageError(f"more than {MAX_NOTIFICATIONS} notifications in one message")
    parsed = tuple(_notification(item, expected_object) for item in items)
    return OutboundMessage(
        organization_id=organization_id,
        action_id=action_id,
        enterprise_url=_text(notifications, "EnterpriseUrl"),
        partner_url=_text(notifications, "PartnerUrl"),
        notifications=parsed,
        session_id=_text(notifications, "SessionId"),
    )


def ack_response(ok: bool = True) -> bytes:
    """The ``notificationsResponse`` body. Send ``ok=True`` only once every notification is stored:
    anything else makes Salesforce retry the whole message."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}">'
        "<soapenv:Body>"
        f'<notificationsResponse xmlns="{OUTBOUND_NS}">'
        f"<Ack>{'true' if ok else 'false'}</Ack>"
        "</notificationsResponse>"
        "</soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()


def soap_fault(message: str, client_error: bool = True) -> bytes:
    """A SOAP 1.1 Fault to answer a request that cannot be accepted (Salesforce will retry it)."""
    code = "soapenv:Client" if client_error else "soapenv:Server"
    text = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>{code}</faultcode><faultstring>{text}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def _utf16_view(raw: bytes) -> bytes:
    """A best-effort ASCII view of UTF-16 input, so a declaration cannot hide behind another encoding."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00<" in raw[:4] or b"<\x00" in raw[:4]:
        return raw.replace(b"\x00", b"")
    return b""


def _text(parent: ET.Element, name: str) -> str | None:
    element = parent.find(f"{{{OUTBOUND_NS}}}{name}")
    if element is None or element.get(f"{{{XSI_NS}}}nil") == "true":
        return None
    return (element.text or "").strip() or None


def _required_id(parent: ET.Element, name: str) -> str:
    value = _text(parent, name)
    if value is None:
        raise OutboundMessageError(f"notifications has no {name}")
    if not _ID.match(value):
        raise OutboundMessageError(f"{name} is not a Salesforce id")
    return value


def _notification(item: ET.Element, expected_object: str | None) -> OutboundNotification:
    notification_id = _text(item, "Id")
    if notification_id is None or not _ID.match(notification_id):
        raise OutboundMessageError("a Notification has no valid Id")
    sobject = item.find(f"{{{OUTBOUND_NS}}}sObject")
    if sobject is None:
        raise OutboundMessageError(f"Notification {notification_id} has no sObject")
    declared = sobject.get(f"{{{XSI_NS}}}type") or ""
    sobject_type = declared.rpartition(":")[2]
    if not sobject_type:
        raise OutboundMessageError(f"Notification {notification_id} sObject has no xsi:type")
    if expected_object is not None and sobject_type.lower() != expected_object.lower():
        raise OutboundMessageError(f"Notification {notification_id} is for {sobject_type}, expected {expected_object}")
    values: dict[str, str | None] = {}
    for child in sobject:
        namespace, _, name = child.tag[1:].partition("}") if child.tag.startswith("{") else ("", "", child.tag)
        if namespace != SOBJECT_NS:
            raise OutboundMessageError(f"Notification {notification_id} field {name} is not in namespace {SOBJECT_NS}")
        if child.get(f"{{{XSI_NS}}}nil") == "true":
            values[name] = None
        else:
            values[name] = child.text if child.text is not None else ""
    record_id = values.get("Id")
    return OutboundNotification(id=notification_id, sobject_type=sobject_type, record_id=record_id, fields=values)
