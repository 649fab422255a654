"""Zendesk source adapter: OAuth, the REST client, webhook verification (and a loopback sandbox).

The sandbox lives in ``adapters.zendesk.sandbox`` and is not imported here, so production code never
loads it.
"""

from .client import ExportPage, ZendeskClient, ticket_update_body, trigger_body, trigger_notifies, webhook_body
from .errors import (
    AuthorizationRequired,
    Conflict,
    FatalError,
    ForeignUrl,
    NotFound,
    RateLimited,
    RetriableError,
    WebhookPayloadError,
    WebhookSignatureError,
    ZendeskError,
)
from .jobs import TicketResult
from .people import attach_people
from .selection import is_license_exception
from .settings import ZendeskSettings
from .webhook import parse_webhook_event, verify_signature

__all__ = [
    "AuthorizationRequired",
    "Conflict",
    "ExportPage",
    "FatalError",
    "ForeignUrl",
    "NotFound",
    "RateLimited",
    "RetriableError",
    "TicketResult",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "ZendeskClient",
    "ZendeskError",
    "ZendeskSettings",
    "attach_people",
    "is_license_exception",
    "parse_webhook_event",
    "ticket_update_body",
    "trigger_body",
    "trigger_notifies",
    "verify_signature",
    "webhook_body",
]
