"""Adapter errors as the connector says them, the same for every kind: the connection status an admin sees
(``source_error``), and what a failed call means for the write-backs it carried (``outcome_of``) or held up
(``hold_of``). The class decides (``adapters.errors``); a kind only names its source and, for the few errors it
knows more about, gives the sentence to show instead of the generic one."""

from __future__ import annotations

from adapters.errors import AdapterError, AuthorizationError, FatalError, RateLimited, RetriableError
from connector.sources import Outcome, SourceError

#: how long the write-backs a refused grant stopped wait before they are tried again (an admin authorizes)
AUTHORIZATION_HOLD_SECONDS = 60.0
#: how long the write-backs a rate limit stopped wait when the source did not say (a daily allocation)
RATE_LIMIT_HOLD_SECONDS = 900.0


def source_error(exc: AdapterError, label: str, explanation: str | None = None) -> SourceError:
    """The connection status and message for ``exc`` from the source ``label`` (never a token in the message).

    ``explanation`` replaces the generic sentence where the kind knows better (Salesforce's daily share)."""
    if isinstance(exc, AuthorizationError):
        return SourceError("needs_authorization", explanation or (
            f"{label} refused the connector's authorization ({exc.code}: {exc.message}); nothing is lost: "
            "authorize the connection again and work resumes where it stopped."))
    if isinstance(exc, RateLimited):
        wait = f"resuming after {exc.retry_after:g} s" if exc.retry_after else "resuming once the source allows"
        return SourceError("paused", explanation or (
            f"{label} rate limit reached ({exc.code}: {exc.message}); paused, {wait}; nothing is lost, the next "
            "run resumes where this one stopped."), exc.retry_after)
    if isinstance(exc, RetriableError):
        return SourceError("error", explanation or (
            f"{label} is unavailable ({exc.code}: {exc.message}); the next run retries where this one stopped."),
            exc.retry_after)
    return SourceError("error", explanation or f"{label} refused the request ({exc.code}): {exc.message}")


def hold_of(exc: AdapterError, label: str, explanation: str | None = None) -> Outcome | None:
    """How a failed call holds the write-backs after it (not counted as attempts): a refused grant until an
    admin authorizes again, a rate limit until ``retry_after``; None when it stops nothing but itself."""
    if isinstance(exc, AuthorizationError):
        return Outcome("held", source_error(exc, label, explanation).message, exc.status, AUTHORIZATION_HOLD_SECONDS)
    if isinstance(exc, RateLimited):
        return Outcome("held", source_error(exc, label, explanation).message, exc.status,
                       exc.retry_after or RATE_LIMIT_HOLD_SECONDS)
    return None


def outcome_of(exc: AdapterError, where: str = "") -> Outcome:
    """The outcome of the write-backs a failed call carried: transient (a rate limit, a conflict too) → retried,
    not before ``retry_after``; refused → dead (the same call fails the same way); anything else → retried."""
    detail = f"{where}: {exc.code}: {exc.message}" if where else f"{exc.code}: {exc.message}"
    if isinstance(exc, RetriableError):
        return Outcome("retry", detail, exc.status, exc.retry_after)
    if isinstance(exc, FatalError):
        return Outcome("dead", detail, exc.status)
    return Outcome("retry", detail, exc.status)
