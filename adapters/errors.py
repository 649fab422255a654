"""The one error taxonomy every source adapter raises: what the caller should do next, decided by class.

``RetriableError``: transient (5xx, network failure, a lock); the same call may succeed later, after
``retry_after`` seconds when the source said so. ``RateLimited``: a rate or quota limit; pause the connection
until ``retry_after`` (``None`` when the source gave no time). ``AuthorizationError``: no usable token; an admin
must authorize again. ``FatalError``: any other refusal; retrying the same call fails the same way.

Each adapter package subclasses these under its own names (``adapters.salesforce.LimitExceeded``,
``adapters.zendesk.NotFound``, ...), so code that catches either the common or the package name keeps working.
``code`` is for programs, ``message`` for people; neither ever holds a token or a secret.
"""

from __future__ import annotations


class AdapterError(Exception):
    """Base of the taxonomy: ``code``, ``message``, the HTTP ``status`` and ``retry_after`` seconds, if any."""

    def __init__(self, code: str, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after


class RetriableError(AdapterError):
    """Transient: 5xx, network failure, a locked row. Try again, not before ``retry_after`` when it is set."""


class RateLimited(RetriableError):
    """A rate or quota limit: pause until ``retry_after`` seconds have passed (``None``: the source did not say)."""


class AuthorizationError(AdapterError):
    """No usable token (never authorized, refresh refused or revoked): an admin must authorize again."""


class FatalError(AdapterError):
    """Any other refusal: retrying the same call cannot succeed."""


__all__ = ["AdapterError", "AuthorizationError", "FatalError", "RateLimited", "RetriableError"]
