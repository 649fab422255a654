"""The REST client on documented Salesforce response shapes, with HTTP mocked by ``responses``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from adapters.salesforce.client import CollectionUpdateError, SalesforceClient
from adapters.salesforce.errors import (
    AuthorizationRequired,
    DailyShareExceeded,
    FatalError,
    InstanceHostRefused,
    LimitExceeded,
    RetriableError,
)
from adapters.salesforce.settings import SalesforceSettings
from adapters.tokens import InMemoryTokenStore

INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v62.0"
TOKEN_URL = "https://login.salesforce.com/services/oauth2/token"
IDENTITY = "https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS"
OBJECT = "License_Exception_Request__c"
SOQL = "SELECT Id, SystemModstamp, IsDeleted, Name, Account__r.Name FROM License_Exception_Request__c"
LIMIT_HEADER = {"Sforce-Limit-Info": "api-usage=18/15000"}
SESSION_EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def settings(**overrides: Any) -> SalesforceSettings:
    values: dict[str, Any] = {"client_id": "3MVG9connector", "client_secret": "s3cret"}
    values.update(overrides)
    return SalesforceSettings(**values)


def stored_token(**overrides: Any) -> dict[str, Any]:
    token = {
        "access_token": "00Dxx!old",
        "refresh_token": "5Aep861-refresh",
        "instance_url": INSTANCE,
        "id": IDENTITY,
        "token_type": "Bearer",
        "issued_at": "1558553873237",
        "signature": "c2ln",
        "scope": "refresh_token api",
    }
    token.update(overrides)
    return token


def client(store: InMemoryTokenStore | None = None, **overrides: Any) -> SalesforceClient:
    return SalesforceClient(settings(**overrides), store or InMemoryTokenStore(stored_token()))


def record(record_id: str, name: str, account: str | None) -> dict[str, Any]:
    return {
        "attributes": {"type": OBJECT, "url": f"/services/data/v62.0/sobjects/{OBJECT}/{record_id}"},
        "Id": record_id,
        "SystemModstamp": "2026-11-20T10:30:00.000+0000",
        "IsDeleted": False,
        "Name": name,
        "Account__r": None
        if account is None
        else {"attributes": {"type": "Account", "url": "/services/data/v62.0/sobjects/Account/001xx"}, "Name": account},
    }


@responses.activate
def test_query_pages_follows_next_records_url_one_page_at_a_time() -> None:
    next_url = "/services/data/v62.0/query/01gD0000002HU6KIAW-2000"
    responses.get(
        f"{API}/queryAll",
        match=[matchers.query_param_matcher({"q": SOQL})],
        json={
            "totalSize": 3,
            "done": False,
            "nextRecordsUrl": next_url,
            "records": [record("a0X000000000001AAA", "One", "Acme"), record("a0X000000000002AAA", "Two", None)],
        },
        headers=LIMIT_HEADER,
    )
    responses.get(
        f"{INSTANCE}{next_url}",
        json={"totalSize": 3, "done": True, "records": [record("a0X000000000003AAA", "Three", "Globex")]},
        headers={"Sforce-Limit-Info": "api-usage=19/15000"},
    )
    sf = client()
    pages = sf.query_pages(SOQL)
    first = next(pages)
    assert len(responses.calls) == 1  # a generator: the second page is not fetched yet
    assert first.done is False and first.total_size == 3
    assert first.records[0] == {
        "Id": "a0X000000000001AAA",
        "SystemModstamp": "2026-11-20T10:30:00.000+0000",
        "IsDeleted": False,
        "Name": "One",
        "Account__r": {"Name": "Acme"},
    }
    assert first.records[1]["Account__r"] is None
    rest = list(pages)
    assert [r["Name"] for page in rest for r in page.records] == ["Three"]
    assert rest[0].done is True
    assert sf.http_calls == 2
    assert sf.api_usage == (19, 15000)
    assert responses.calls[0].request.headers["Authorization"] == "Bearer 00Dxx!old"


@responses.activate
def test_query_without_deleted_uses_the_query_resource() -> None:
    responses.get(f"{API}/query", json={"totalSize": 0, "done": True, "records": []})
    assert [page.records for page in client().query_pages(SOQL, include_deleted=False)] == [[]]


@responses.activate
def test_expired_session_is_refreshed_once_saved_and_retried() -> None:
    responses.get(f"{API}/limits", status=401, json=SESSION_EXPIRED)
    responses.get(
        f"{API}/limits",
        match=[matchers.header_matcher({"Authorization": "Bearer 00Dxx!new"})],
        json={"DailyApiRequests": {"Max": 15000, "Remaining": 14000}},
    )
    refreshed = stored_token(access_token="00Dxx!new")
    del refreshed["refresh_token"]  # Salesforce does not send it back on refresh
    responses.post(TOKEN_URL, json=refreshed)
    store = InMemoryTokenStore(stored_token())
    sf = client(store)

    assert sf.limits()["DailyApiRequests"]["Max"] == 15000

    token_request = parse_qs(str(responses.calls[1].request.body))
    assert token_request["grant_type"] == ["refresh_token"]
    assert token_request["refresh_token"] == ["5Aep861-refresh"]
    saved = store.load()
    assert saved is not None
    assert saved["access_token"] == "00Dxx!new"
    assert saved["refresh_token"] == "5Aep861-refresh"
    assert sf.token_renewals == 1
    assert sf.api_usage == (1000, 15000)


@responses.activate
def test_a_token_saved_meanwhile_by_another_worker_is_used_instead_of_refreshing() -> None:
    store = InMemoryTokenStore(stored_token())

    def expired(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        store.save(stored_token(access_token="00Dxx!from-other-worker"))
        return 401, {}, json.dumps(SESSION_EXPIRED)

    responses.add_callback(
        responses.GET,
        f"{API}/limits",
        callback=expired,
        match=[matchers.header_matcher({"Authorization": "Bearer 00Dxx!old"})],
    )
    responses.get(
        f"{API}/limits",
        json={},
        match=[matchers.header_matcher({"Authorization": "Bearer 00Dxx!from-other-worker"})],
    )
    client(store).limits()
    assert all(call.request.url != TOKEN_URL for call in responses.calls)


@responses.activate
def test_a_session_that_stays_invalid_after_refresh_requires_authorization() -> None:
    responses.get(f"{API}/limits", status=401, json=SESSION_EXPIRED)
    responses.post(TOKEN_URL, json=stored_token(access_token="00Dxx!new"))
    with pytest.raises(AuthorizationRequired):
        client().limits()
    assert sum(1 for call in responses.calls if call.request.url == TOKEN_URL) == 1


@responses.activate
def test_revoked_refresh_token_requires_authorization_and_keeps_the_store() -> None:
    responses.get(f"{API}/limits", status=401, json=SESSION_EXPIRED)
    responses.post(
        TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "expired access/refresh token"}
    )
    store = InMemoryTokenStore(stored_token())
    with pytest.raises(AuthorizationRequired) as error:
        client(store).limits()
    assert error.value.code == "invalid_grant"
    assert store.load() == stored_token()


def test_no_token_yet_requires_authorization_without_any_call() -> None:
    with responses.RequestsMock() as mock, pytest.raises(AuthorizationRequired):
        client(InMemoryTokenStore()).limits()
    assert len(mock.calls) == 0


@responses.activate
def test_client_credentials_connection_fetches_its_first_token_itself() -> None:
    responses.post(TOKEN_URL, json=stored_token(access_token="00Dxx!cc"))
    responses.get(f"{API}/limits", json={}, match=[matchers.header_matcher({"Authorization": "Bearer 00Dxx!cc"})])
    store = InMemoryTokenStore()
    client(store, auth="client_credentials").limits()
    saved = store.load()
    assert saved is not None and saved["access_token"] == "00Dxx!cc"


@responses.activate
def test_request_limit_exceeded_is_limit_exceeded() -> None:
    responses.get(
        f"{API}/queryAll",
        status=403,
        json=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        headers={"Sforce-Limit-Info": "api-usage=15001/15000"},
    )
    sf = client()
    with pytest.raises(LimitExceeded) as error:
        list(sf.query_pages(SOQL))
    assert error.value.code == "REQUEST_LIMIT_EXCEEDED" and error.value.status == 403
    assert sf.api_usage == (15001, 15000)


@pytest.mark.parametrize(
    ("status", "body", "headers", "retry_after"),
    [
        (
            503,
            [{"message": "Server temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
            {"Retry-After": "120"},
            120.0,
        ),
        (500, [{"message": "An unexpected error occurred", "errorCode": "UNKNOWN_EXCEPTION"}], {}, None),
        (
            429,
            [{"message": "Too many requests", "errorCode": "TOO_MANY_REQUESTS"}],
            {"Retry-After": "5"},
            5.0,
        ),
        (503, [{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}], {"Retry-After": "1e12"}, 86400.0),
        (503, [{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}],
         {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        (
            400,
            [{"message": "unable to obtain exclusive access to this record", "errorCode": "UNABLE_TO_LOCK_ROW"}],
            {},
            None,
        ),
    ],
)
@responses.activate
def test_transient_failures_are_retriable(
    status: int, body: Any, headers: dict[str, str], retry_after: float | None
) -> None:
    responses.get(f"{API}/limits", status=status, json=body, headers=headers)
    with pytest.raises(RetriableError) as error:
        client().limits()
    assert error.value.status == status
    assert error.value.code == body[0]["errorCode"]
    assert error.value.retry_after == retry_after


@responses.activate
def test_concurrent_request_limit_is_a_short_pause() -> None:
    responses.get(
        f"{API}/limits",
        status=403,
        json=[{"message": "ConcurrentPerOrgLongTxn Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    )
    with pytest.raises(LimitExceeded) as error:
        client().limits()
    assert error.value.retry_after == 60.0


@responses.activate
def test_connection_failure_is_retriable() -> None:
    responses.get(f"{API}/limits", body=requests.ConnectionError("refused"))
    with pytest.raises(RetriableError) as error:
        client().limits()
    assert error.value.code == "CONNECTION_ERROR"


@responses.activate
def test_other_client_errors_are_fatal() -> None:
    responses.get(
        f"{API}/queryAll",
        status=400,
        json=[{"message": "No such column 'Foo__c' on entity 'Account'", "errorCode": "INVALID_FIELD"}],
    )
    with pytest.raises(FatalError) as error:
        list(client().query_pages(SOQL))
    assert (error.value.code, error.value.status) == ("INVALID_FIELD", 400)
    assert "Foo__c" in error.value.message


@responses.activate
def test_collections_update_reports_each_record_in_order() -> None:
    responses.patch(
        f"{API}/composite/sobjects",
        json=[
            {"id": "a0X000000000001AAA", "success": True, "errors": []},
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                        "message": "Decision cannot change while the record is locked",
                        "fields": ["Decision__c"],
                    }
                ],
            },
            {"id": "a0X000000000003AAA", "success": True, "errors": []},
        ],
    )
    results = client().update_records(
        OBJECT,
        [
            {"Id": "a0X000000000001AAA", "Governance_Status__c": "approved"},
            {"Id": "a0X000000000002AAA", "Decision__c": "approved"},
            {"id": "a0X000000000003AAA", "Governance_Status__c": "denied"},
        ],
    )
    sent = json.loads(responses.calls[0].request.body or b"")
    assert sent == {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": OBJECT}, "id": "a0X000000000001AAA", "Governance_Status__c": "approved"},
            {"attributes": {"type": OBJECT}, "id": "a0X000000000002AAA", "Decision__c": "approved"},
            {"attributes": {"type": OBJECT}, "id": "a0X000000000003AAA", "Governance_Status__c": "denied"},
        ],
    }
    assert [(r.id, r.success) for r in results] == [
        ("a0X000000000001AAA", True),
        ("a0X000000000002AAA", False),
        ("a0X000000000003AAA", True),
    ]
    failure = results[1]
    assert failure.errors[0].status_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert failure.errors[0].fields == ("Decision__c",)
    assert failure.retriable is False


@responses.activate
def test_collections_are_chunked_at_200_and_lock_errors_are_retriable_per_record() -> None:
    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        records = json.loads(request.body or b"{}")["records"]
        out = []
        for item in records:
            if item["id"].endswith("7AAA"):
                out.append(
                    {
                        "success": False,
                        "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked", "fields": []}],
                    }
                )
            else:
                out.append({"id": item["id"], "success": True, "errors": []})
        return 200, {}, json.dumps(out)

    responses.add_callback(responses.PATCH, f"{API}/composite/sobjects", callback=answer)
    ids = [f"a0X{number:012d}AAA" for number in range(450)]
    results = client().update_records(OBJECT, [{"Id": rid, "Decision__c": "approved"} for rid in ids])
    assert [len(json.loads(call.request.body or b"")["records"]) for call in responses.calls] == [200, 200, 50]
    assert [r.id for r in results] == ids
    locked = [r for r in results if not r.success]
    assert locked and all(r.retriable for r in locked)


@responses.activate
def test_a_failing_later_chunk_keeps_the_results_already_obtained() -> None:
    responses.patch(
        f"{API}/composite/sobjects", json=[{"id": f"a0X{n:012d}AAA", "success": True, "errors": []} for n in range(200)]
    )
    responses.patch(
        f"{API}/composite/sobjects", status=503, json=[{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}]
    )
    with pytest.raises(CollectionUpdateError) as error:
        client().update_records(OBJECT, [{"Id": f"a0X{n:012d}AAA", "Decision__c": "x"} for n in range(201)])
    assert len(error.value.completed) == 200
    assert error.value.retriable is True


def test_records_to_update_need_an_id_and_valid_field_names() -> None:
    with pytest.raises(ValueError, match="Id"):
        client().update_records(OBJECT, [{"Decision__c": "approved"}])
    with pytest.raises(ValueError, match="field name"):
        client().update_records(OBJECT, [{"Id": "a0X000000000001AAA", "Bad Field": 1}])


@responses.activate
def test_limit_info_header_drives_the_daily_share_brake() -> None:
    next_url = "/services/data/v62.0/query/01gD0000002HU6KIAW-2000"
    responses.get(
        f"{API}/queryAll",
        json={"totalSize": 4000, "done": False, "nextRecordsUrl": next_url, "records": []},
        headers={"Sforce-Limit-Info": "api-usage=12001/15000"},
    )
    sf = client()
    pages = sf.query_pages(SOQL)
    next(pages)
    assert sf.api_usage == (12001, 15000)
    assert sf.usage_share == pytest.approx(0.80007, abs=1e-5)
    with pytest.raises(DailyShareExceeded) as error:
        next(pages)
    assert len(responses.calls) == 1  # the next page was not requested
    assert error.value.code == "DAILY_SHARE_EXCEEDED" and isinstance(error.value, LimitExceeded)


@responses.activate
def test_a_stale_reading_above_the_share_is_rechecked_before_a_new_query() -> None:
    responses.get(f"{API}/limits", json={"DailyApiRequests": {"Max": 15000, "Remaining": 9000}})
    responses.get(f"{API}/queryAll", json={"totalSize": 0, "done": True, "records": []})
    sf = client()
    sf.api_usage = (14000, 15000)  # read hours ago
    assert [page.records for page in sf.query_pages(SOQL)] == [[]]
    assert sf.api_usage == (6000, 15000)


@responses.activate
def test_a_reading_still_above_the_share_stops_before_querying() -> None:
    responses.get(f"{API}/limits", json={"DailyApiRequests": {"Max": 15000, "Remaining": 1000}})
    sf = client()
    sf.api_usage = (14000, 15000)
    with pytest.raises(DailyShareExceeded):
        next(sf.query_pages(SOQL))
    assert [str(call.request.url).split("?")[0] for call in responses.calls] == [f"{API}/limits"]


def test_usage_exactly_at_the_share_is_still_allowed() -> None:
    sf = client()
    sf.api_usage = (12000, 15000)
    sf.check_daily_limit()
    sf.api_usage = (12001, 15000)
    with pytest.raises(DailyShareExceeded):
        sf.check_daily_limit()


def test_unknown_usage_does_not_block() -> None:
    sf = client()
    assert sf.usage_share is None
    sf.check_daily_limit()


def test_token_on_a_foreign_instance_is_refused_before_sending_it() -> None:
    store = InMemoryTokenStore(stored_token(instance_url="https://acme.salesforce.com.evil.example"))
    with responses.RequestsMock() as mock, pytest.raises(InstanceHostRefused):
        SalesforceClient(settings(), store).limits()
    assert len(mock.calls) == 0


@responses.activate
def test_describe_lists_fields_and_relationships_once_per_object() -> None:
    responses.get(
        f"{API}/sobjects/{OBJECT}/describe",
        json={
            "name": OBJECT,
            "fields": [
                {"name": "Id", "type": "id", "relationshipName": None, "referenceTo": []},
                {"name": "Name", "type": "string", "relationshipName": None, "referenceTo": []},
                {
                    "name": "Account__c",
                    "type": "reference",
                    "relationshipName": "Account__r",
                    "referenceTo": ["Account"],
                },
            ],
        },
    )
    sf = client()
    assert sf.describe(OBJECT).field_names == {"Id", "Name", "Account__c", "Account__r"}
    assert sf.describe(OBJECT.lower()).field_names == {"Id", "Name", "Account__c", "Account__r"}
    assert len(responses.calls) == 1  # describes are cached


@responses.activate
def test_get_record_strips_attributes_and_passes_fields() -> None:
    responses.get(
        f"{API}/sobjects/{OBJECT}/a0X000000000001AAA",
        match=[matchers.query_param_matcher({"fields": "Name,Decision__c"})],
        json={
            "attributes": {"type": OBJECT, "url": "/x"},
            "Id": "a0X000000000001AAA",
            "Name": "One",
            "Decision__c": None,
        },
    )
    assert client().get_record(OBJECT, "a0X000000000001AAA", ["Name", "Decision__c"]) == {
        "Id": "a0X000000000001AAA",
        "Name": "One",
        "Decision__c": None,
    }


def test_record_url_comes_from_the_token() -> None:
    sf = client()
    assert sf.record_url(OBJECT, "a0X000000000001AAA") == f"{INSTANCE}/lightning/r/{OBJECT}/a0X000000000001AAA/view"


def test_absolute_urls_are_not_accepted_as_api_paths() -> None:
    with pytest.raises(ValueError):
        client().request("GET", "https://attacker.example/services/data")
    assert urlsplit(client().api_path("limits")).path == "/services/data/v62.0/limits"
