"""The slice of a Zendesk account provisioning touches, mocked with ``responses`` in the documented shapes: ticket
fields, webhooks and their signing secret, triggers, and the Apps API as ``zcli apps:create``/``apps:update`` use it
(a multipart upload, an app built by a job that answers ``working`` before it ends, installations whose secure
settings are never read back)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import responses

BASE = "https://acme.zendesk.com"
NEW_SECRET = "bmV3LXNpZ25pbmctc2VjcmV0LWZyb20temVuZGVzaw=="
JSON = dict[str, Any]


def multipart_files(request: Any) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a ``multipart/form-data`` body by field name: (file name, content)."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    return {part.get_param("name", header="content-disposition"): (part.get_filename(),
                                                                    part.get_payload(decode=True))
            for part in message.iter_parts()}


class Account:
    """Fields, webhooks and triggers (two fields exist already: one by title, one carrying our option tags)."""

    def __init__(self, http: responses.RequestsMock) -> None:
        self.http = http
        self.fields = [
            {"id": 360009000001, "type": "subject", "title": "Subject", "removable": False},
            {"id": 360011000001, "type": "integer", "title": "requested seats", "removable": True},
            {"id": 360011000002, "type": "tagger", "title": "Exception category", "removable": True,
             "custom_field_options": [{"id": 1, "name": "Seat expansion", "value": "lec_category_seat_expansion"}]},
        ]
        self.webhooks: list[JSON] = []
        self.triggers: list[JSON] = []
        self.posts: list[tuple[str, JSON]] = []
        http.add_callback(responses.GET, f"{BASE}/api/v2/ticket_fields.json", callback=self.list_fields)
        http.add_callback(responses.POST, f"{BASE}/api/v2/ticket_fields.json", callback=self.create_field)
        http.add_callback(responses.GET, f"{BASE}/api/v2/webhooks", callback=self.list_webhooks)
        http.add_callback(responses.POST, f"{BASE}/api/v2/webhooks", callback=self.create_webhook)
        http.add_callback(responses.GET, re.compile(rf"{BASE}/api/v2/webhooks/\w+/signing_secret"),
                          callback=lambda r: (200, {}, json.dumps({"signing_secret": {"algorithm": "SHA256",
                                                                                      "secret": NEW_SECRET}})))
        http.add_callback(responses.GET, f"{BASE}/api/v2/triggers.json", callback=self.list_triggers)
        http.add_callback(responses.POST, f"{BASE}/api/v2/triggers.json", callback=self.create_trigger)
        self.apps = AppsApi(http)

    def list_fields(self, request: Any) -> tuple[int, JSON, str]:
        return 200, {}, json.dumps({"ticket_fields": self.fields, "meta": {"has_more": False},
                                    "links": {"next": None, "prev": None}})

    def create_field(self, request: Any) -> tuple[int, JSON, str]:
        spec = json.loads(request.body)["ticket_field"]
        self.posts.append(("field", spec))
        created = {**spec, "id": 360012000000 + len(self.fields), "removable": True, "active": True}
        self.fields.append(created)
        return 201, {}, json.dumps({"ticket_field": created})

    def list_webhooks(self, request: Any) -> tuple[int, JSON, str]:
        return 200, {}, json.dumps({"webhooks": self.webhooks, "meta": {"has_more": False},
                                    "links": {"next": None, "prev": None}})

    def create_webhook(self, request: Any) -> tuple[int, JSON, str]:
        spec = json.loads(request.body)["webhook"]
        self.posts.append(("webhook", spec))
        created = {**spec, "id": "01HQ8ZK2V3XW9Y7R4M5N6P7Q8R", "created_at": "2026-11-20T10:30:00Z"}
        self.webhooks.append(created)
        return 201, {}, json.dumps({"webhook": created})

    def list_triggers(self, request: Any) -> tuple[int, JSON, str]:
        return 200, {}, json.dumps({"triggers": self.triggers, "next_page": None, "previous_page": None,
                                    "count": len(self.triggers)})

    def create_trigger(self, request: Any) -> tuple[int, JSON, str]:
        spec = json.loads(request.body)["trigger"]
        self.posts.append(("trigger", spec))
        created = {**spec, "id": 360000600001 + len(self.triggers)}
        self.triggers.append(created)
        return 201, {}, json.dumps({"trigger": created})


class AppsApi:
    """Uploads, apps built by jobs, installations. ``refuse`` makes the next builds fail with Zendesk's message."""

    def __init__(self, http: responses.RequestsMock) -> None:
        self.uploads: dict[int, dict[str, bytes]] = {}
        self.apps: dict[int, JSON] = {}
        self.jobs: dict[str, JSON] = {}
        self.installations: dict[int, JSON] = {}
        self.calls: list[tuple[str, JSON]] = []  # (what, body) of every write
        self.refuse: str | None = None
        self._next = 9000
        http.add_callback(responses.POST, f"{BASE}/api/v2/apps/uploads.json", callback=self.upload)
        http.add_callback(responses.POST, f"{BASE}/api/v2/apps.json", callback=self.create)
        http.add_callback(responses.PUT, re.compile(rf"{BASE}/api/v2/apps/\d+\.json"), callback=self.update)
        http.add_callback(responses.GET, re.compile(rf"{BASE}/api/v2/apps/job_statuses/\w+\.json"),
                          callback=self.job)
        http.add_callback(responses.GET, f"{BASE}/api/v2/apps/owned.json",
                          callback=lambda r: (200, {}, json.dumps({"apps": list(self.apps.values())})))
        http.add_callback(responses.GET, f"{BASE}/api/v2/apps/installations.json", callback=self.list_installations)
        http.add_callback(responses.POST, f"{BASE}/api/v2/apps/installations.json", callback=self.install)
        http.add_callback(responses.PUT, re.compile(rf"{BASE}/api/v2/apps/installations/\d+\.json"),
                          callback=self.update_installation)

    def _id(self) -> int:
        self._next += 1
        return self._next

    def upload(self, request: Any) -> tuple[int, JSON, str]:
        name, archive = multipart_files(request)["uploaded_data"]
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            files = {n: zipped.read(n) for n in zipped.namelist()}
        upload_id = self._id()
        self.uploads[upload_id] = files
        self.calls.append(("upload", {"id": upload_id, "filename": name}))
        return 201, {}, json.dumps({"id": upload_id})

    def _job(self, app_id: int | None, body: JSON) -> str:
        job_id = f"{self._id():032x}"
        if self.refuse:
            self.jobs[job_id] = {"id": job_id, "status": "failed", "message": self.refuse, "app_id": None,
                                 "polls": 0}
        else:
            app_id = app_id or self._id()
            manifest = json.loads(self.uploads[int(body["upload_id"])]["manifest.json"])
            self.apps[app_id] = {"id": app_id, "name": body.get("name") or self.apps[app_id]["name"],
                                 "short_description": body.get("short_description", ""),
                                 "version": manifest.get("version"), "parameters": manifest.get("parameters")}
            self.jobs[job_id] = {"id": job_id, "status": "completed", "message": "Done", "app_id": app_id,
                                 "polls": 0}
        return job_id

    def create(self, request: Any) -> tuple[int, JSON, str]:
        body = json.loads(request.body)
        self.calls.append(("create", body))
        return 202, {}, json.dumps({"job_id": self._job(None, body)})

    def update(self, request: Any) -> tuple[int, JSON, str]:
        body = json.loads(request.body)
        app_id = int(request.url.rsplit("/", 1)[1].split(".")[0])
        self.calls.append(("update", {**body, "app_id": app_id}))
        if app_id not in self.apps:
            return 404, {}, json.dumps({"error": "RecordNotFound", "description": "Not found"})
        return 202, {}, json.dumps({"job_id": self._job(app_id, body)})

    def job(self, request: Any) -> tuple[int, JSON, str]:
        job = self.jobs[request.url.rsplit("/", 1)[1].split(".")[0]]
        job["polls"] += 1
        if job["polls"] == 1:  # Zendesk queues the build: the first poll finds it working
            return 200, {}, json.dumps({"id": job["id"], "status": "working", "message": None, "app_id": None})
        return 200, {}, json.dumps({k: v for k, v in job.items() if k != "polls"})

    def _view(self, installation: JSON) -> JSON:
        return {**installation, "settings": {k: v for k, v in installation["settings"].items() if k != "token"}}

    def list_installations(self, request: Any) -> tuple[int, JSON, str]:
        return 200, {}, json.dumps({"installations": [self._view(i) for i in self.installations.values()]})

    def install(self, request: Any) -> tuple[int, JSON, str]:
        body = json.loads(request.body)
        self.calls.append(("install", body))
        installation = {"id": self._id(), "app_id": int(body["app_id"]), "product": "support", "enabled": True,
                        "settings": body["settings"]}
        self.installations[installation["id"]] = installation
        return 201, {}, json.dumps(self._view(installation))

    def update_installation(self, request: Any) -> tuple[int, JSON, str]:
        body = json.loads(request.body)
        installation_id = int(request.url.rsplit("/", 1)[1].split(".")[0])
        self.calls.append(("update_installation", {**body, "id": installation_id}))
        installation = self.installations[installation_id]
        installation["settings"] = {**installation["settings"], **body["settings"]}
        installation["enabled"] = body.get("enabled", installation["enabled"])
        return 200, {}, json.dumps(self._view(installation))
