"""One taxonomy: each adapter's errors are the common classes under the package's own names."""

from __future__ import annotations

import pytest

from adapters import errors as common
from adapters import salesforce, zendesk
from adapters.salesforce.client import CollectionUpdateError


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (salesforce.RetriableError("UNABLE_TO_LOCK_ROW", "locked", 503, 5.0), common.RetriableError),
        (salesforce.LimitExceeded("REQUEST_LIMIT_EXCEEDED", "daily cap", 403), common.RateLimited),
        (salesforce.DailyShareExceeded(900, 1000, 0.8), common.RateLimited),
        (salesforce.AuthorizationRequired("invalid_grant", "revoked", 400), common.AuthorizationError),
        (salesforce.FatalError("MALFORMED_QUERY", "bad", 400), common.FatalError),
        (salesforce.InstanceHostRefused("INSTANCE_HOST_REFUSED", "elsewhere"), common.FatalError),
        (salesforce.OutboundMessageError("empty body"), common.FatalError),
        (zendesk.RetriableError("server_error", "down", 502), common.RetriableError),
        (zendesk.RateLimited(30.0), common.RateLimited),
        (zendesk.AuthorizationRequired("no_token", "not authorized"), common.AuthorizationError),
        (zendesk.Conflict("conflict", "the ticket changed", 409), common.RetriableError),
        (zendesk.FatalError("invalid_request", "bad", 422), common.FatalError),
        (zendesk.NotFound("not_found", "gone", 404), common.FatalError),
        (zendesk.ForeignUrl("https://attacker.example/x", "attacker.example"), common.FatalError),
        (zendesk.WebhookSignatureError("bad_signature"), common.FatalError),
        (zendesk.WebhookPayloadError("invalid_json"), common.FatalError),
    ],
)
def test_every_adapter_error_is_one_of_the_common_kinds(error: common.AdapterError, kind: type) -> None:
    assert isinstance(error, kind)
    assert isinstance(error, common.AdapterError)
    tops = (common.RetriableError, common.AuthorizationError, common.FatalError)
    assert sum(isinstance(error, top) for top in tops) == 1, "exactly one of: retry, re-authorize, give up"


def test_every_error_carries_code_message_status_and_retry_after() -> None:
    limited = zendesk.RateLimited(12.0, status=429)
    assert (limited.code, limited.status, limited.retry_after) == ("rate_limited", 429, 12.0)
    assert zendesk.RetriableError("server_error", "down", 502).retry_after is None
    assert zendesk.FatalError("x", "y").partly_written is False
    locked = salesforce.RetriableError("UNABLE_TO_LOCK_ROW", "locked", 503, 5.0)
    assert (locked.code, locked.message, locked.status) == ("UNABLE_TO_LOCK_ROW", "locked", 503)
    assert locked.retry_after == 5.0
    assert str(locked) == "UNABLE_TO_LOCK_ROW: locked"


def test_package_names_keep_their_old_meaning() -> None:
    """``except RetriableError`` in a package catches what it did before the common base arrived."""
    assert not isinstance(salesforce.LimitExceeded("REQUEST_LIMIT_EXCEEDED", "cap"), salesforce.RetriableError)
    assert salesforce.LimitExceeded("REQUEST_LIMIT_EXCEEDED", "cap").retriable
    assert isinstance(zendesk.RateLimited(1.0), zendesk.RetriableError)
    assert not isinstance(zendesk.Conflict("conflict", "changed"), zendesk.RetriableError | zendesk.FatalError)
    assert not isinstance(zendesk.WebhookSignatureError("bad_signature"), zendesk.FatalError)


def test_a_collections_failure_keeps_its_causes_retry_after() -> None:
    cause = salesforce.RetriableError("SERVER_UNAVAILABLE", "busy", 503, 30.0)
    wrapped = CollectionUpdateError(cause, [])
    assert wrapped.retriable and wrapped.retry_after == 30.0 and wrapped.cause is cause
