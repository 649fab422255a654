"""Salesforce source adapter: OAuth, the REST client, SOQL building, Outbound Message parsing (and a loopback
sandbox).

The sandbox lives in ``adapters.salesforce.sandbox`` and is not imported here, so production code never
loads it.
"""

from . import oauth
from .client import (
    CollectionUpdateError,
    FieldDescription,
    ObjectDescription,
    QueryPage,
    RecordError,
    RecordResult,
    SalesforceClient,
    strip_attributes,
)
from .errors import (
    AuthorizationRequired,
    DailyShareExceeded,
    FatalError,
    InstanceHostRefused,
    LimitExceeded,
    OutboundMessageError,
    RetriableError,
    SalesforceError,
)
from .outbound_message import (
    OutboundMessage,
    OutboundNotification,
    ack_response,
    parse_outbound_message,
    soap_fault,
)
from .settings import SalesforceSettings
from .soql import build_incremental_query, build_records_query, quote, validate_field_path

__all__ = [
    "AuthorizationRequired",
    "CollectionUpdateError",
    "DailyShareExceeded",
    "FatalError",
    "FieldDescription",
    "InstanceHostRefused",
    "LimitExceeded",
    "ObjectDescription",
    "OutboundMessage",
    "OutboundMessageError",
    "OutboundNotification",
    "QueryPage",
    "RecordError",
    "RecordResult",
    "RetriableError",
    "SalesforceClient",
    "SalesforceError",
    "SalesforceSettings",
    "ack_response",
    "build_incremental_query",
    "build_records_query",
    "oauth",
    "parse_outbound_message",
    "quote",
    "soap_fault",
    "strip_attributes",
    "validate_field_path",
]
