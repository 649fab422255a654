"""Deploying metadata through the Metadata API's REST resource ``deployRequest``: post the zip with its options
(multipart: a ``json`` part and a ``file`` part), then poll ``deployRequest/<id>?includeDetails=true`` until the
deployment is done, and report each component that failed in words an admin can act on.

A deployment is all or nothing (``rollbackOnError``), and deploying the same package again is harmless: the
components are updated in place. That makes provisioning idempotent without tracking what exists.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .client import SalesforceClient
from .errors import RetriableError

#: no Apex in the package, so no tests to run; a failed component rolls the whole deployment back
DEPLOY_OPTIONS: dict[str, Any] = {
    "allowMissingFiles": False,
    "autoUpdatePackage": False,
    "checkOnly": False,
    "ignoreWarnings": False,
    "performRetrieve": False,
    "purgeOnDelete": False,
    "rollbackOnError": True,
    "runTests": None,
    "singlePackage": True,
    "testLevel": "NoTestRun",
}
DONE_STATUSES = frozenset({"Succeeded", "SucceededPartial", "Failed", "Canceled"})


@dataclass(frozen=True)
class ComponentProblem:
    """One component Salesforce refused, as its ``componentFailures`` entry says."""

    component_type: str
    full_name: str
    file_name: str
    problem: str
    line: int | None = None

    def describe(self) -> str:
        where = f"{self.file_name}, line {self.line}" if self.line else self.file_name
        kind = self.component_type or "component"
        return f"{kind} {self.full_name} ({where}): {self.problem}"


@dataclass(frozen=True)
class DeployOutcome:
    """Where a deployment stands (``done`` once Salesforce has finished with it)."""

    deploy_id: str
    status: str
    done: bool
    success: bool
    components_deployed: int
    components_total: int
    failures: tuple[ComponentProblem, ...] = ()
    error_message: str | None = None

    def problems(self) -> list[str]:
        """Every reason the deployment failed, one line each."""
        lines = [failure.describe() for failure in self.failures]
        if self.error_message:
            lines.insert(0, self.error_message)
        return lines


def start_deploy(client: SalesforceClient, archive: bytes, options: dict[str, Any] | None = None) -> DeployOutcome:
    """Post the zip; Salesforce answers 201 with the deployment's id, queued."""
    body = json.dumps({"deployOptions": {**DEPLOY_OPTIONS, **(options or {})}})
    response = client.request("POST", client.api_path("metadata/deployRequest"), files={
        "json": (None, body, "application/json"),
        "file": ("deploy.zip", archive, "application/zip"),
    })
    return outcome_of(response.json())


def deploy_status(client: SalesforceClient, deploy_id: str) -> DeployOutcome:
    response = client.request("GET", client.api_path(f"metadata/deployRequest/{deploy_id}"),
                              params={"includeDetails": "true"})
    return outcome_of(response.json())


def deploy(client: SalesforceClient, archive: bytes, *, poll_seconds: float = 2.0, timeout: float = 600.0,
           sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> DeployOutcome:
    """Deploy and wait for the result. Still running after ``timeout``: ``RetriableError`` naming the deployment
    (it goes on in the org; deploying again later is harmless)."""
    outcome = start_deploy(client, archive)
    deadline = clock() + timeout
    while not outcome.done:
        if clock() >= deadline:
            raise RetriableError("DEPLOY_TIMEOUT", f"deployment {outcome.deploy_id} is still {outcome.status} "
                                 f"after {timeout:.0f} s; look at Setup → Deployment Status, or provision again")
        sleep(poll_seconds)
        outcome = deploy_status(client, outcome.deploy_id)
    return outcome


def outcome_of(body: dict[str, Any]) -> DeployOutcome:
    """A ``deployRequest`` response as a ``DeployOutcome``."""
    result = body.get("deployResult") or {}
    details = result.get("details") or {}
    failures = details.get("componentFailures") or []
    if isinstance(failures, dict):  # one failure may come as an object rather than a list
        failures = [failures]
    status = str(result.get("status") or "Pending")
    return DeployOutcome(
        deploy_id=str(body.get("id") or result.get("id") or ""),
        status=status,
        done=bool(result.get("done")) or status in DONE_STATUSES,
        success=bool(result.get("success")) and status == "Succeeded",
        components_deployed=int(result.get("numberComponentsDeployed") or 0),
        components_total=int(result.get("numberComponentsTotal") or 0),
        failures=tuple(_problem(f) for f in failures if isinstance(f, dict)),
        error_message=result.get("errorMessage") or None,
    )


def _problem(failure: dict[str, Any]) -> ComponentProblem:
    line = failure.get("lineNumber")
    return ComponentProblem(
        component_type=str(failure.get("componentType") or ""),
        full_name=str(failure.get("fullName") or ""),
        file_name=str(failure.get("fileName") or ""),
        problem=str(failure.get("problem") or "no reason given"),
        line=int(line) if isinstance(line, int | str) and str(line).isdigit() else None,
    )


__all__ = [
    "DEPLOY_OPTIONS",
    "ComponentProblem",
    "DeployOutcome",
    "deploy",
    "deploy_status",
    "outcome_of",
    "start_deploy",
]
