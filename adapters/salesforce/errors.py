"""What can go wrong talking to Salesforce: the common taxonomy of ``adapters.errors`` under Salesforce's names.

The connector decides what to do from the class alone: retry later (``RetriableError``), pause the
connection (``LimitExceeded``, a ``RateLimited``), ask an admin to re-authorize (``AuthorizationRequired``, an
``AuthorizationError``), or give up on this call (``FatalError`` and the other refusals). ``code`` is
Salesforce's ``errorCode``/OAuth ``error`` when it sent one. Messages never contain tokens or secrets.

The package names stay distinct classes: ``except RetriableError`` here does not catch ``LimitExceeded`` (as
before), while ``except adapters.errors.RetriableError`` catches both.
"""

from __future__ import annotations

from .. import errors as common


class SalesforceError(common.AdapterError):
    """Base of Salesforce's errors: ``code`` for machines, ``message`` for people, HTTP ``status`` if any."""

    retriable: bool = False


class RetriableError(SalesforceError, common.RetriableError):
    """Transient: 5xx, 429, ``UNABLE_TO_LOCK_ROW``, connection failures. Try again after ``retry_after``."""

    retriable = True


class LimitExceeded(SalesforceError, common.RateLimited):
    """The org's API allocation is used up (``REQUEST_LIMIT_EXCEEDED``): pause the connection.

    Salesforce's daily allocation is a rolling 24-hour window and the response says nothing about when it
    frees up, so ``retry_after`` is None then (poll ``limits()`` to resume). The same code with a
    ``ConcurrentPerOrgLongTxn`` message means too many long-running requests at once: ``retry_after`` is a
    short pause (60 s) in that case.
    """

    retriable = True


class DailyShareExceeded(LimitExceeded):
    """Our own brake: the org used more than ``daily_limit_share`` of its daily allocation."""

    def __init__(self, used: int, limit: int, share: float) -> None:
        super().__init__(
            "DAILY_SHARE_EXCEEDED",
            f"the org has used {used} of {limit} daily API requests, above the configured share of "
            f"{share:.0%}; syncing stops until usage drops so other integrations are not starved",
        )
        self.used = used
        self.limit = limit
        self.share = share


class AuthorizationRequired(SalesforceError, common.AuthorizationError):
    """No usable token: never authorized, refresh token revoked/expired (``invalid_grant``), or the
    session stays invalid after a refresh. The connector marks the connection ``needs_authorization``."""


class InstanceHostRefused(SalesforceError, common.FatalError):
    """A login URL or token ``instance_url`` outside Salesforce's domains and the configured allow-list."""


class FatalError(SalesforceError, common.FatalError):
    """Any other client error (4xx): retrying the same call will fail the same way."""


class OutboundMessageError(SalesforceError, common.FatalError):
    """An Outbound Message body that is not a well-formed ``notifications`` envelope."""

    def __init__(self, message: str) -> None:
        super().__init__("MALFORMED_OUTBOUND_MESSAGE", message, 400)
