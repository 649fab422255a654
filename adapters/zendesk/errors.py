"""Errors the Zendesk adapter raises: the common taxonomy of ``adapters.errors`` under Zendesk's names.

The split follows what the caller should do next: retry later (``RetriableError``, ``RateLimited``), send an
admin through authorization again (``AuthorizationRequired``), re-read and re-apply (``Conflict``) or give up
on this payload (``FatalError`` and the webhook refusals).

``Conflict`` (a ``safe_update`` answered 409) is a common ``RetriableError``: applying the same change to the
re-read ticket can succeed, so a delivery that met it is retried. It is not this package's ``RetriableError``
(a 5xx or network failure), so ``except RetriableError`` here catches what it did before.
"""

from __future__ import annotations

from .. import errors as common


class ZendeskError(common.AdapterError):
    """Base class: ``code`` is stable for programs, ``message`` is for people."""

    def __init__(self, code: str, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(code, message, status, retry_after)
        #: set by a write of several updates (a reply, then a note) that failed after the first one was applied
        self.partly_written = False


class RetriableError(ZendeskError, common.RetriableError):
    """A 5xx or a network failure: the same request may succeed later."""


class RateLimited(RetriableError, common.RateLimited):
    """Zendesk answered 429; ``retry_after`` seconds must pass before the next try."""

    retry_after: float

    def __init__(self, retry_after: float, message: str = "", status: int | None = 429) -> None:
        super().__init__("rate_limited", message or f"rate limited; retry after {retry_after:g} s", status,
                         retry_after)


class AuthorizationRequired(ZendeskError, common.AuthorizationError):
    """No usable token: the refresh token was refused or never obtained. An admin must authorize again."""


class Conflict(ZendeskError, common.RetriableError):
    """``safe_update`` refused the write because the ticket changed since it was read (HTTP 409)."""


class FatalError(ZendeskError, common.FatalError):
    """Any other refusal (4xx): retrying the same request cannot succeed."""


class NotFound(FatalError):
    """The ticket, user or other resource does not exist (or is no longer visible)."""


class ForeignUrl(FatalError):
    """A URL (a pagination link in a response, say) outside the account's own base URL: the credentials are
    never sent there. ``host`` names where it pointed."""

    def __init__(self, url: str, host: str) -> None:
        super().__init__("foreign_url", f"refused to send the Zendesk credentials to {host!r} ({url[:200]}): "
                                        "only the account's own base URL is called")
        self.url = url
        self.host = host


class WebhookSignatureError(ZendeskError, common.FatalError):
    """A webhook failed verification: ``missing_signature``, ``bad_signature`` or ``stale_timestamp``."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code, message, 401)


class WebhookPayloadError(ZendeskError, common.FatalError):
    """A verified webhook whose body names no ticket we understand."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code, message, 400)
