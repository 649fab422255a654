"""``GET /oauth/callback``: an OAuth state is single-use, whatever happens to the code exchange it starts.

A state that survived a failed exchange, or that two concurrent callbacks could both spend, would let a
replayed or raced callback bind a second authorization (possibly someone else's code) to the connection.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from integration.salesforce_connector.mock_org import TOKEN_URL, MockOrg, connection, create_connection, oauth_error


def start(client, admin) -> str:
    r = client.get("/api/v1/connections/sf/authorize", headers=admin)
    assert r.status_code == 302, r.get_data(as_text=True)
    return parse_qs(urlsplit(r.headers["Location"]).query)["state"][0]


def token_endpoint(org: MockOrg, answer: Any) -> None:
    """Answer the token endpoint with ``answer(request)`` (which may defer to the org's own ``_token``)."""
    org.rsps.replace(responses.CallbackResponse(responses.POST, TOKEN_URL, callback=answer))


def test_a_state_whose_exchange_failed_cannot_be_used_again(client, admin, org: MockOrg) -> None:
    create_connection(client, admin)
    state = start(client, admin)
    failures = [oauth_error("invalid_grant", "authentication failure")]
    codes: list[list[str]] = []

    def failing_once(request: Any) -> Any:
        codes.append(parse_qs(request.body)["code"])
        return failures.pop() if failures else org._token(request)

    token_endpoint(org, failing_once)

    failed = client.get(f"/oauth/callback?code=aPrxExpired&state={state}")
    assert failed.status_code == 400, failed.get_json()
    assert "authentication failure" in failed.get_json()["message"]

    replay = client.get(f"/oauth/callback?code=aPrxOtherCode&state={state}")

    assert replay.status_code == 409, replay.get_json()
    assert "already" in replay.get_json()["message"]
    assert codes == [["aPrxExpired"]]  # the replayed code never reached Salesforce
    assert connection(client, admin)["status"] == "needs_authorization"

    fresh = start(client, admin)  # starting again works
    assert client.get(f"/oauth/callback?code=aPrxCode2&state={fresh}").status_code == 200
    assert connection(client, admin)["status"] == "connected"


def test_concurrent_callbacks_with_one_state_succeed_once(app, client, admin, org: MockOrg) -> None:
    create_connection(client, admin)
    state = start(client, admin)

    def slow_token(request: Any) -> Any:
        time.sleep(0.3)  # the provider takes a moment: the callbacks overlap
        return org._token(request)

    token_endpoint(org, slow_token)
    racers = 4
    gate = threading.Barrier(racers)
    statuses: list[int] = []

    def callback(n: int) -> None:
        browser = app.test_client()
        gate.wait(timeout=10)
        statuses.append(browser.get(f"/oauth/callback?code=aPrxCode{n}&state={state}").status_code)

    threads = [threading.Thread(target=callback, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200] + [409] * (racers - 1)
    assert org.calls["token"] == 1  # only one code was ever exchanged
    assert connection(client, admin)["status"] == "connected"
