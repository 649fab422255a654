"""Errors the Zendesk adapter raises: values with a machine-readable code, a message and the HTTP status.

The split follows what the caller should do next: retry later (``RetriableError``, ``RateLimited``), send an
admin through authorization again (``AuthorizationRequired``), re-read and re-apply (``Conflict``) or give up
on this payload (``FatalError``).
"""

from __future__ import annotations


class ZendeskError(Exception):
    """Base class: ``code`` is stable for programs, ``message`` is for people."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status
        #: set by a write of several updates (a reply, then a note) that failed after the first one was applied
        self.partly_written = False


class RetriableError(ZendeskError):
    """A 5xx or a network failure: the same request may succeed later."""


class RateLimited(RetriableError):
    """Zendesk answered 429; ``retry_after`` seconds must pass before the next try."""

    def __init__(self, retry_after: float, message: str = "", status: int | None = 429) -> None:
        super().__init__("rate_limited", message or f"rate limited; retry after {retry_after:g} s", status)
        self.retry_after = retry_after


class AuthorizationRequired(ZendeskError):
    """No usable token: the refresh token was refused or never obtained. An admin must authorize again."""


class Conflict(ZendeskError):
    """``safe_update`` refused the write because the ticket changed since it was read (HTTP 409)."""


class FatalError(ZendeskError):
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


class WebhookSignatureError(ZendeskError):
    """A webhook failed verification: ``missing_signature``, ``bad_signature`` or ``stale_timestamp``."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code, message, 401)


class WebhookPayloadError(ZendeskError):
    """A verified webhook whose body names no ticket we understand."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code, message, 400)
