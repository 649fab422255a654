"""Deploying through ``deployRequest``, on the documented request and response shapes (HTTP mocked)."""

from __future__ import annotations

import email.parser
import email.policy
import json
from typing import Any

import pytest
import responses

from adapters.salesforce.client import SalesforceClient
from adapters.salesforce.errors import FatalError, RetriableError
from adapters.salesforce.metadata_deploy import deploy, outcome_of
from adapters.salesforce.settings import SalesforceSettings
from adapters.tokens import InMemoryTokenStore

INSTANCE = "https://acme.my.salesforce.com"
DEPLOY = f"{INSTANCE}/services/data/v62.0/metadata/deployRequest"
DEPLOY_ID = "0Af5g00000ABCDEFGH"


def make_client() -> SalesforceClient:
    token = {"access_token": "00D!token", "refresh_token": "r", "instance_url": INSTANCE,
             "id": "https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS"}
    return SalesforceClient(SalesforceSettings(client_id="c", client_secret="s"), InMemoryTokenStore(token))


def result(status: str, done: bool, **extra: Any) -> dict[str, Any]:
    return {"id": DEPLOY_ID, "url": f"{DEPLOY}/{DEPLOY_ID}", "deployResult": {
        "id": DEPLOY_ID, "status": status, "done": done, "success": status == "Succeeded",
        "numberComponentsDeployed": 12 if done else 0, "numberComponentsTotal": 12, "details": None, **extra}}


def multipart(request: Any) -> dict[str, Any]:
    raw = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode() + request.body
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    return {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}


@responses.activate
def test_posts_the_zip_with_its_options_and_polls_until_done():
    responses.post(DEPLOY, json=result("Pending", False), status=201)
    polled = [result("InProgress", False), result("Succeeded", True)]
    responses.get(f"{DEPLOY}/{DEPLOY_ID}", json=polled[0])
    responses.get(f"{DEPLOY}/{DEPLOY_ID}", json=polled[1])
    naps: list[float] = []
    outcome = deploy(make_client(), b"PK\x03\x04zip", poll_seconds=0.5, sleep=naps.append)
    assert outcome.success and outcome.done and outcome.components_deployed == 12
    assert naps == [0.5, 0.5]
    parts = multipart(responses.calls[0].request)
    options = json.loads(parts["json"].get_content())["deployOptions"]
    assert options["rollbackOnError"] is True and options["singlePackage"] is True
    assert options["checkOnly"] is False and options["testLevel"] == "NoTestRun"
    assert parts["json"].get_content_type() == "application/json"
    assert parts["file"].get_content_type() == "application/zip"
    assert parts["file"].get_filename() == "deploy.zip" and parts["file"].get_content() == b"PK\x03\x04zip"
    assert responses.calls[1].request.url.endswith("?includeDetails=true")
    assert responses.calls[0].request.headers["Authorization"] == "Bearer 00D!token"


@responses.activate
def test_a_failed_deployment_names_each_component_and_why():
    responses.post(DEPLOY, json=result("Pending", False), status=201)
    responses.get(f"{DEPLOY}/{DEPLOY_ID}", json=result("Failed", True, numberComponentErrors=2, details={
        "componentFailures": [
            {"componentType": "CustomField", "fullName": "License_Exception_Request__c.Votes_Waiting__c",
             "fileName": "objects/License_Exception_Request__c.object", "lineNumber": 212, "problemType": "Error",
             "problem": "Field name already used by a formula field"},
            {"componentType": "Flow", "fullName": "License_Exception_Push", "fileName":
             "flows/License_Exception_Push.flow", "problem": "The outbound message integration user is inactive"},
        ]}))
    outcome = deploy(make_client(), b"zip", sleep=lambda _: None)
    assert outcome.done and not outcome.success and outcome.status == "Failed"
    assert outcome.problems() == [
        "CustomField License_Exception_Request__c.Votes_Waiting__c (objects/License_Exception_Request__c.object, "
        "line 212): Field name already used by a formula field",
        "Flow License_Exception_Push (flows/License_Exception_Push.flow): The outbound message integration user is "
        "inactive",
    ]


def test_a_single_failure_object_and_an_error_message_are_read_too():
    outcome = outcome_of(result("Failed", True, errorMessage="Deploy size exceeds 39 MB", details={
        "componentFailures": {"componentType": "", "fullName": "package.xml", "fileName": "package.xml",
                              "problem": "No package.xml found"}}))
    assert outcome.problems() == ["Deploy size exceeds 39 MB",
                                  "component package.xml (package.xml): No package.xml found"]


@responses.activate
def test_a_deployment_still_running_after_the_timeout_is_retriable_and_named():
    responses.post(DEPLOY, json=result("Pending", False), status=201)
    responses.get(f"{DEPLOY}/{DEPLOY_ID}", json=result("InProgress", False))
    ticks = iter(range(0, 1000, 100))
    with pytest.raises(RetriableError, match=DEPLOY_ID):
        deploy(make_client(), b"zip", timeout=250, sleep=lambda _: None, clock=lambda: float(next(ticks)))


@responses.activate
def test_a_refused_request_raises_the_taxonomy():
    responses.post(DEPLOY, status=400, json=[{"errorCode": "INVALID_CROSS_REFERENCE_KEY",
                                              "message": "The user lacks Modify Metadata permission"}])
    with pytest.raises(FatalError, match="Modify Metadata"):
        deploy(make_client(), b"zip", sleep=lambda _: None)
