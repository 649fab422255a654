"""``AppsApi``: the zip goes up as multipart ``uploaded_data`` through the client's request wrapper (a 401 refreshes
and sends it again), a build is polled until it ends and a build that never ends is reported, not waited on forever."""

from __future__ import annotations

import pytest
import responses

from adapters.tokens import InMemoryTokenStore
from adapters.zendesk.apps_api import AppsApi
from adapters.zendesk.client import ZendeskClient
from adapters.zendesk.errors import FatalError, RetriableError

BASE = "https://acme.zendesk.com"
JOB = f"{BASE}/api/v2/apps/job_statuses/j1.json"


@pytest.fixture
def apps(settings, clock, make_token):
    client = ZendeskClient(settings, InMemoryTokenStore(make_token()), sleep=clock.sleep, clock=clock)
    return AppsApi(client, sleep=clock.sleep, clock=clock)


@responses.activate
def test_the_zip_is_uploaded_as_multipart_uploaded_data(apps):
    upload = responses.post(f"{BASE}/api/v2/apps/uploads.json", status=201, json={"id": 77})

    assert apps.upload(b"PK\x03\x04zip") == 77

    sent = upload.calls[0].request
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="uploaded_data"; filename="app.zip"' in sent.body and b"PK\x03\x04zip" in sent.body
    assert sent.headers["Authorization"].startswith("Bearer ")


@responses.activate
def test_an_upload_answered_without_an_id_is_an_error(apps):
    responses.post(f"{BASE}/api/v2/apps/uploads.json", status=201, json={})
    with pytest.raises(FatalError, match="without an upload id"):
        apps.upload(b"zip")


@responses.activate
def test_a_build_is_polled_until_it_ends(apps, clock):
    responses.get(JOB, json={"id": "j1", "status": "queued"})
    responses.get(JOB, json={"id": "j1", "status": "working"})
    responses.get(JOB, json={"id": "j1", "status": "failed", "message": "Manifest invalid",
                             "errors": ["location support.ticket_sidebar is missing"]})

    build = apps.wait_for_build("j1", poll_interval=2.0)

    assert clock.sleeps == [2.0, 2.0] and not build.success
    assert build.problems() == ["location support.ticket_sidebar is missing"]


@responses.activate
def test_a_build_that_never_ends_is_reported(apps, clock):
    responses.get(JOB, json={"id": "j1", "status": "working"})

    with pytest.raises(RetriableError, match="still building the app after 10 s"):
        apps.wait_for_build("j1", poll_interval=2.0, timeout=10.0)
    assert sum(clock.sleeps) <= 10.0


@responses.activate
def test_an_upload_refused_401_is_sent_again_with_the_refreshed_token(apps):
    upload = f"{BASE}/api/v2/apps/uploads.json"
    responses.post(upload, status=401, json={"error": "invalid_token", "error_description": "expired"})
    responses.post(f"{BASE}/oauth/tokens", json={"access_token": "A2", "refresh_token": "R2", "expires_in": 1800,
                                                 "token_type": "bearer", "scope": "read write"})
    responses.post(upload, status=201, json={"id": 78})

    assert apps.upload(b"PK\x03\x04zip") == 78

    sent = [c.request for c in responses.calls if c.request.url == upload]
    assert [r.headers["Authorization"] for r in sent] == ["Bearer A1", "Bearer A2"]
    assert all(b"PK\x03\x04zip" in r.body for r in sent)
