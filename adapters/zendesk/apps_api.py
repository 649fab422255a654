"""Zendesk's Apps API, as ``zcli apps:create`` / ``apps:update`` use it: upload an app's zip, build an app from the
upload (a new app, or a new version of an existing one) and poll the build job, then install the app with its
settings or update an installation's settings.

The wire shapes: ``POST /api/v2/apps/uploads`` (multipart, the zip as ``uploaded_data``) answers ``{"id"}``;
``POST /api/v2/apps`` (``{"name", "short_description", "upload_id"}``) and ``PUT /api/v2/apps/{id}``
(``{"upload_id"}``) answer ``{"job_id"}``; ``GET /api/v2/apps/job_statuses/{job_id}`` answers ``{"id", "status",
"message", "app_id"}`` with ``status`` one of queued, working, completed, failed; ``POST
/api/v2/apps/installations`` (``{"app_id", "settings": {"name", …}}``) and ``PUT
/api/v2/apps/installations/{id}`` (``{"settings", "enabled"}``) answer the installation. Secure settings are
write-only: Zendesk never reads them back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .client import ZendeskClient
from .errors import FatalError, RetriableError

#: build job statuses after which the job will not change any more
FINISHED = frozenset({"completed", "failed", "killed"})


@dataclass(frozen=True)
class AppBuild:
    """How a build job ended: ``completed`` with the app's id, or ``failed`` with Zendesk's words why."""

    job_id: str
    status: str
    app_id: int | None
    message: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.status == "completed" and self.app_id is not None

    def problems(self) -> list[str]:
        """Why the build failed, one line each (Zendesk's list when it gave one, else its message)."""
        return list(self.errors) or [self.message or f"the build job ended {self.status} without saying why"]


class AppsApi:
    """The Apps API calls of one account, through the client's request wrapper (auth, refresh, 429 handling)."""

    def __init__(self, client: ZendeskClient, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._sleep, self._clock = sleep, clock

    def upload(self, archive: bytes, filename: str = "app.zip") -> int:
        """Upload an app's zip; returns the upload id a build takes."""
        body = self.client.request("POST", "/api/v2/apps/uploads.json",
                                   files={"uploaded_data": (filename, archive, "application/zip")})
        if not body.get("id"):
            raise FatalError("invalid_response", "Zendesk answered the app upload without an upload id")
        return int(body["id"])

    def create(self, name: str, upload_id: int, short_description: str = "") -> str:
        """Start building a new app from an upload; returns the build job's id."""
        payload: dict[str, Any] = {"name": name, "upload_id": upload_id}
        if short_description:
            payload["short_description"] = short_description
        return self._job_id(self.client.request("POST", "/api/v2/apps.json", json=payload), "create")

    def update(self, app_id: int, upload_id: int) -> str:
        """Start building a new version of an existing app from an upload; returns the build job's id."""
        return self._job_id(self.client.request("PUT", f"/api/v2/apps/{int(app_id)}.json",
                                                json={"upload_id": upload_id}), "update")

    @staticmethod
    def _job_id(body: Mapping[str, Any], what: str) -> str:
        if not body.get("job_id"):
            raise FatalError("invalid_response", f"Zendesk answered the app {what} without a job id")
        return str(body["job_id"])

    def job_status(self, job_id: str) -> dict[str, Any]:
        return self.client.request("GET", f"/api/v2/apps/job_statuses/{job_id}.json")

    def wait_for_build(self, job_id: str, *, poll_interval: float = 1.0, timeout: float = 300.0) -> AppBuild:
        """Poll the build job until it is finished (a build takes Zendesk a few seconds)."""
        deadline = self._clock() + timeout
        while True:
            job = self.job_status(job_id)
            status = str(job.get("status") or "")
            if status in FINISHED:
                errors = job.get("errors")
                return AppBuild(job_id, status, int(job["app_id"]) if job.get("app_id") else None,
                                str(job.get("message") or ""),
                                [str(e) for e in errors] if isinstance(errors, list) else [])
            if self._clock() + poll_interval > deadline:
                raise RetriableError("job_timeout", f"Zendesk was still building the app after {timeout:g} s "
                                                    f"(job {job_id}, {status or 'no status'})")
            self._sleep(poll_interval)

    def owned(self) -> list[dict[str, Any]]:
        """The apps this account owns (its private apps)."""
        return [dict(app) for app in self.client.request("GET", "/api/v2/apps/owned.json").get("apps") or ()
                if isinstance(app, Mapping)]

    def installations(self) -> list[dict[str, Any]]:
        """Every app installation of the account (secure settings left out, as Zendesk answers)."""
        return [dict(i) for i in self.client.request("GET", "/api/v2/apps/installations.json")
                .get("installations") or () if isinstance(i, Mapping)]

    def install(self, app_id: int, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Install an app with its settings (``name`` is the installation's title)."""
        return self.client.request("POST", "/api/v2/apps/installations.json",
                                   json={"app_id": int(app_id), "settings": dict(settings)})

    def update_installation(self, installation_id: int, settings: Mapping[str, Any],
                            enabled: bool = True) -> dict[str, Any]:
        """Replace an installation's settings (a secure one too) and enable it."""
        return self.client.request("PUT", f"/api/v2/apps/installations/{int(installation_id)}.json",
                                   json={"settings": dict(settings), "enabled": enabled})


__all__ = ["FINISHED", "AppBuild", "AppsApi"]
