"""The sandbox's Apps API: uploads, apps built from them by a job (checked as Zendesk's app builder checks them),
installations with their settings (secure ones never read back), and a stand-in for ZAF's secure-request proxy.

The proxy is what a browser app's ``client.request({secure: true, …})`` goes through in Zendesk: the app names
``{{setting.token}}`` and Zendesk substitutes the installation's secure setting server-side, for hosts in the
app's ``domainWhitelist`` only. Here it is ``POST /proxy/apps/secure`` with ``{"installation_id", "url", "type",
"headers"}``; the answer carries the upstream status and body.
"""

from __future__ import annotations

import itertools
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.wrappers import Request

from .app_build import problems, read_zip
from .sandbox_http import JSON, ApiError, invalid, json_body, record_invalid

_SETTING = re.compile(r"\{\{\s*setting\.(\w+)\s*\}\}")


@dataclass
class SandboxApp:
    id: int
    name: str
    short_description: str
    manifest: JSON
    files: dict[str, bytes] = field(repr=False)

    def view(self) -> JSON:
        return {"id": self.id, "name": self.name, "short_description": self.short_description,
                "version": self.manifest.get("version"), "framework_version": self.manifest.get("frameworkVersion"),
                "parameters": self.manifest.get("parameters", []), "owner_id": 1, "visible": True}


class SandboxApps:
    """Apps, their build jobs and installations, as the Apps API serves them."""

    def __init__(self, clock: Callable[[], float], polls_before_complete: int = 1) -> None:
        self.clock = clock
        #: a build job answers ``working`` to its first polls, as Zendesk's do while the app builds
        self.polls_before_complete = polls_before_complete
        self._polls: dict[str, int] = {}
        self.uploads: dict[int, bytes] = {}
        self.apps: dict[int, SandboxApp] = {}
        self.jobs: dict[str, JSON] = {}
        self.installations: dict[int, JSON] = {}
        self.proxied: list[JSON] = []  # what the secure proxy sent (header values with secrets masked)
        self._ids = itertools.count(1001)

    # -- uploads and builds -----------------------------------------------------------------------------------
    def upload(self, request: Request) -> tuple[int, JSON]:
        file = request.files.get("uploaded_data")
        if file is None:
            raise invalid("uploaded_data (the app's zip) is required")
        upload_id = next(self._ids)
        self.uploads[upload_id] = file.read()
        return 201, {"id": upload_id}

    def create_app(self, request: Request) -> tuple[int, JSON]:
        body = json_body(request)
        if not body.get("name") or not body.get("upload_id"):
            raise record_invalid("name and upload_id are required")
        return 202, {"job_id": self._build(body, None)}

    def update_app(self, request: Request, app_id: int) -> tuple[int, JSON]:
        if app_id not in self.apps:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})
        return 202, {"job_id": self._build(json_body(request), app_id)}

    def _build(self, body: JSON, app_id: int | None) -> str:
        """Check the upload now and keep the job's result (reported on the first poll)."""
        job_id = f"{next(self._ids):032x}"
        archive = self.uploads.get(int(body.get("upload_id") or 0))
        if archive is None:
            self.jobs[job_id] = {"id": job_id, "status": "failed", "message": "Upload not found"}
            return job_id
        try:
            files = read_zip(archive)
        except zipfile.BadZipFile:
            files = {}
        found = problems(files) if files else ["The upload is not a zip file"]
        if found:
            self.jobs[job_id] = {"id": job_id, "status": "failed", "message": "; ".join(found), "errors": found}
            return job_id
        manifest = json.loads(files["manifest.json"])
        app_id = app_id or next(self._ids)
        previous = self.apps.get(app_id)
        self.apps[app_id] = SandboxApp(app_id, str(body.get("name") or (previous.name if previous else "")),
                                       str(body.get("short_description") or ""), manifest, files)
        self.jobs[job_id] = {"id": job_id, "status": "completed", "message": "Done", "app_id": app_id}
        return job_id

    def job_status(self, request: Request, job_id: str) -> tuple[int, JSON]:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})
        polls = self._polls[job_id] = self._polls.get(job_id, 0) + 1
        if polls <= self.polls_before_complete:
            return 200, {"id": job_id, "status": "working", "message": None, "app_id": None}
        return 200, job

    def owned(self, request: Request) -> tuple[int, JSON]:
        return 200, {"apps": [app.view() for app in self.apps.values()]}

    # -- installations ----------------------------------------------------------------------------------------
    def installations_route(self, request: Request) -> tuple[int, JSON]:
        if request.method == "GET":
            return 200, {"installations": [self._view(i) for i in self.installations.values()]}
        body = json_body(request)
        app = self.apps.get(int(body.get("app_id") or 0))
        if app is None:
            raise record_invalid("app_id does not name an app of this account")
        if not (body.get("settings") or {}).get("name"):
            raise record_invalid("settings.name (the installation's title) is required")
        installation_id = next(self._ids)
        installation: JSON = {"id": installation_id, "app_id": app.id, "enabled": bool(body.get("enabled", True)),
                        "settings": self._settings(app, body.get("settings") or {}, {}), "updated_at": self.clock()}
        self.installations[installation_id] = installation
        return 201, self._view(installation)

    def installation_route(self, request: Request, installation_id: int) -> tuple[int, JSON]:
        installation = self.installations.get(installation_id)
        if installation is None:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})
        if request.method == "PUT":
            body = json_body(request)
            app = self.apps[installation["app_id"]]
            installation["settings"] = self._settings(app, body.get("settings") or {}, installation["settings"])
            if "enabled" in body:
                installation["enabled"] = bool(body["enabled"])
            installation["updated_at"] = self.clock()
        return 200, self._view(installation)

    def _settings(self, app: SandboxApp, given: JSON, current: JSON) -> JSON:
        declared = {p["name"]: p for p in app.manifest.get("parameters") or ()}
        unknown = sorted(set(given) - set(declared) - {"name", "title"})
        if unknown:
            raise record_invalid(f"Unknown settings: {', '.join(unknown)}")
        merged = {**current, **given}
        missing = [name for name, p in declared.items() if p.get("required") and not merged.get(name)]
        if missing:
            raise record_invalid(f"Required settings are missing: {', '.join(missing)}")
        return merged

    def _view(self, installation: JSON) -> JSON:
        """Secure settings are never read back."""
        app = self.apps[installation["app_id"]]
        secure = {p["name"] for p in app.manifest.get("parameters") or () if p.get("secure")}
        settings = {k: v for k, v in installation["settings"].items() if k not in secure}
        return {**installation, "settings": settings}

    # -- the secure-request proxy -----------------------------------------------------------------------------
    def secure_proxy(self, request: Request) -> tuple[int, JSON]:
        body = json_body(request)
        installation = self.installations.get(int(body.get("installation_id") or 0))
        if installation is None:
            raise invalid("installation_id does not name an installation", 404, "RecordNotFound")
        app = self.apps[installation["app_id"]]
        url = self._substitute(str(body.get("url") or ""), installation["settings"])
        host = urlsplit(url).hostname or ""
        if host not in (app.manifest.get("domainWhitelist") or []):
            raise invalid(f"{host} is not in the app's domainWhitelist: secure settings are not sent there", 403,
                          "Forbidden")
        headers = {name: self._substitute(str(value), installation["settings"])
                   for name, value in (body.get("headers") or {}).items()}
        self.proxied.append({"url": url, "headers": {n: ("***" if "{{" in str(v) else v)
                                                     for n, v in (body.get("headers") or {}).items()}})
        try:
            upstream = requests.request(str(body.get("type") or "GET"), url, headers=headers, timeout=10,
                                        data=body.get("data"))
        except requests.RequestException as exc:
            return 502, {"status": 502, "error": f"upstream unreachable: {type(exc).__name__}"}
        try:
            answer: Any = upstream.json()
        except ValueError:
            answer = upstream.text
        return 200, {"status": upstream.status_code, "body": answer}

    @staticmethod
    def _substitute(text: str, settings: JSON) -> str:
        return _SETTING.sub(lambda m: str(settings.get(m.group(1), "")), text)


__all__ = ["SandboxApp", "SandboxApps"]
