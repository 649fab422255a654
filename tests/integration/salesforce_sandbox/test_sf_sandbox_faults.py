"""Fault injection in the sandbox, seen through the client's error taxonomy."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from adapters.salesforce.client import SalesforceClient
from adapters.salesforce.errors import DailyShareExceeded, LimitExceeded, RetriableError
from adapters.salesforce.sandbox import SalesforceSandbox
from adapters.salesforce.soql import build_incremental_query
from adapters.tokens import InMemoryTokenStore

Connected = tuple[SalesforceSandbox, SalesforceClient, InMemoryTokenStore]


def test_injected_outage_with_retry_after_then_recovery(connected: Connected) -> None:
    sandbox, client, _ = connected
    sandbox.inject_fault(503, retry_after=30, times=2, kinds={"limits"})
    for _ in range(2):
        with pytest.raises(RetriableError) as error:
            client.limits()
        assert (error.value.status, error.value.code, error.value.retry_after) == (503, "SERVER_UNAVAILABLE", 30.0)
    assert client.limits()["DailyApiRequests"]["Max"] == 15000


def test_injected_session_expiry_is_refreshed(connected: Connected) -> None:
    sandbox, client, _ = connected
    sandbox.inject_fault(401, kinds={"describe"})
    assert client.describe(sandbox.object_name).name == sandbox.object_name
    assert client.token_renewals == 1


def test_fault_in_the_middle_of_paging_then_resume_from_next_records_url(connected: Connected) -> None:
    sandbox, client, _ = connected
    sandbox.page_size = 100
    pages = client.query_pages(build_incremental_query(sandbox.object_name, ["Name"], None))
    first = next(pages)
    assert first.next_records_url
    sandbox.inject_fault(503, kinds={"query_more"})
    with pytest.raises(RetriableError):
        next(pages)
    resumed = client.request("GET", first.next_records_url).json()  # the cursor is still open
    assert len(resumed["records"]) == 100


def test_request_limit_exceeded_when_the_org_is_out_of_calls(connected: Connected) -> None:
    sandbox, client, _ = connected
    sandbox.set_api_usage(15000, 15000)
    with pytest.raises(LimitExceeded) as error:
        client.limits()
    assert error.value.code == "REQUEST_LIMIT_EXCEEDED" and error.value.status == 403


def test_daily_share_stops_a_backfill_between_pages(connected: Connected) -> None:
    sandbox, client, _ = connected
    sandbox.page_size = 100
    sandbox.set_api_usage(11_999, 15000)
    pages = client.query_pages(build_incremental_query(sandbox.object_name, ["Name"], None))
    next(pages)  # this call brings usage to 12,000 = 80%: still allowed
    next(pages)  # 12,001 > 80%
    with pytest.raises(DailyShareExceeded):
        next(pages)
    assert sandbox.calls["query_more"] == 1


def test_latency_beyond_the_client_timeout_is_retriable(connected: Connected) -> None:
    sandbox, _, store = connected
    impatient = SalesforceClient(sandbox.settings(), store, timeout=(1.0, 0.2))
    sandbox.add_latency(3.0, kinds={"limits"})
    started = time.perf_counter()
    with pytest.raises(RetriableError) as error:
        impatient.limits()
    assert error.value.code == "TIMEOUT"
    assert time.perf_counter() - started < 2.5  # gave up long before the sandbox answered


def test_token_endpoint_outage(sandbox: SalesforceSandbox) -> None:
    sandbox.inject_fault(503, kinds={"token"})
    client = SalesforceClient(sandbox.settings(auth="client_credentials"), InMemoryTokenStore())
    with pytest.raises(RetriableError):
        client.limits()
    client.limits()


def test_sandbox_runs_as_a_module() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.salesforce.sandbox", "--port", "0", "--records", "10"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "Salesforce sandbox at http://127.0.0.1:" in line
        base_url = line.split(" at ")[1].split(" ")[0]
        versions = requests.get(f"{base_url}/services/data", timeout=5)
        assert versions.status_code == 200 and versions.json()[0]["version"] == "62.0"
    finally:
        process.terminate()
        process.wait(timeout=10)
