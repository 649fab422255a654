"""A bare sandbox org accepts the connector's package through ``deployRequest`` as an org would, refuses broken
packages with component failures, and afterwards serves the object and pushes saved records through the deployed
flow's outbound message."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from collections.abc import Callable, Iterator

import pytest
import requests
from support.servers import serve
from werkzeug.wrappers import Request, Response

from adapters.salesforce.client import SalesforceClient
from adapters.salesforce.errors import FatalError
from adapters.salesforce.metadata_deploy import deploy
from adapters.salesforce.outbound_message import parse_outbound_message
from adapters.salesforce.package_build import Target, fill, metadata_files, metadata_zip, source_files
from adapters.salesforce.sandbox import SalesforceSandbox
from adapters.tokens import InMemoryTokenStore

OBJECT = "License_Exception_Request__c"


class Listener:
    """Collects outbound messages and acks them, as the connector's push endpoint does."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.arrived = threading.Condition()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        body = Request(environ).get_data()
        with self.arrived:
            self.bodies.append(body)
            self.arrived.notify_all()
        ack = (b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
               b'"http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns='
               b'"http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body>'
               b"</soapenv:Envelope>")
        return Response(ack, content_type="text/xml")(environ, start_response)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.bodies) < count and time.monotonic() < deadline:
                self.arrived.wait(0.05)
        return list(self.bodies)


@pytest.fixture
def bare(authorize: Callable[[SalesforceSandbox], InMemoryTokenStore]) -> Iterator[tuple[SalesforceSandbox,
                                                                                            SalesforceClient]]:
    org = SalesforceSandbox(bare=True)
    org.serve()
    client = SalesforceClient(org.settings(redirect_uri="http://127.0.0.1:9/oauth/callback"), authorize(org))
    yield org, client
    org.shutdown()


@pytest.fixture
def listener() -> Iterator[tuple[Listener, str]]:
    receiver = Listener()
    with serve(receiver) as url:
        yield receiver, f"{url}/webhooks/salesforce/sf-prod"


def package(push_url: str) -> bytes:
    return metadata_zip(fill(source_files(), Target(push_url, "integration@sandbox.example.com")))


def test_a_bare_org_has_no_object_until_the_package_is_deployed(bare, listener):
    org, client = bare
    with pytest.raises(FatalError):
        client.describe(OBJECT)
    assert org.record_ids() == []
    outcome = deploy(client, package(listener[1]), poll_seconds=0.01)
    assert outcome.success, outcome.problems()
    assert outcome.components_deployed == outcome.components_total > 50
    described = client.describe(OBJECT)
    assert {"Governance_Status__c", "Missing_Fields__c", "Votes_Waiting__c", "Account__c"} <= described.field_names
    assert org.calls["deploy"] == 1 and org.calls["deploy_status"] >= 1


def test_a_saved_record_is_pushed_by_the_deployed_flow_and_write_back_fields_do_not_echo(bare, listener):
    org, client = bare
    receiver, url = listener
    assert deploy(client, package(url), poll_seconds=0.01).success
    first = org.add_record(Name="Acme: 120 seats", Category__c="Seat Expansion", Requested_Seats__c=120)
    second = org.add_record(Name="Globex: on-prem", Category__c="Deployment Scope")
    bodies = receiver.wait_for(1)
    pushed = [n.record_id for body in bodies for n in parse_outbound_message(body).notifications]
    deadline = time.monotonic() + 5
    while set(pushed) != {first, second} and time.monotonic() < deadline:
        bodies = receiver.wait_for(len(bodies) + 1, timeout=0.5)
        pushed = [n.record_id for body in bodies for n in parse_outbound_message(body).notifications]
    assert set(pushed) == {first, second}
    seen = len(receiver.bodies)
    org.update_record(first, Governance_Status__c="in_review", Votes_Waiting__c="security")  # the connector's
    time.sleep(0.5)
    assert len(receiver.bodies) == seen
    org.update_record(first, Justification__c="Strategic account")  # a rep's change
    assert len(receiver.wait_for(seen + 1)) == seen + 1
    message = parse_outbound_message(receiver.bodies[-1])
    assert message.organization_id == org.org_id and [n.record_id for n in message.notifications] == [first]


def test_deploying_again_is_harmless(bare, listener):
    org, client = bare
    assert deploy(client, package(listener[1]), poll_seconds=0.01).success
    record = org.add_record(Name="kept")
    assert deploy(client, package(listener[1]), poll_seconds=0.01).success
    assert org.get_record(record)["Name"] == "kept"


def rezip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def broken(change: Callable[[dict[str, bytes]], None]) -> bytes:
    files = metadata_files(fill(source_files(), Target("https://lec.example.com/webhooks/salesforce/x", "u@x.io")))
    change(files)
    return rezip(files)


def drop_field(files: dict[str, bytes]) -> None:
    text = files[f"objects/{OBJECT}.object"].decode()
    start = text.index("<fields>\n        <fullName>Votes_Waiting__c</fullName>")
    files[f"objects/{OBJECT}.object"] = (text[:start] + text[text.index("</fields>", start) + 9:]).encode()
    member = f"<members>{OBJECT}.Votes_Waiting__c</members>".encode()
    files["package.xml"] = files["package.xml"].replace(member, b"")


@pytest.mark.parametrize("change, component, problem", [
    (lambda f: f.pop("flows/License_Exception_Push.flow"), "License_Exception_Push",
     "named in package.xml, but was not found"),
    (lambda f: f.update({"flows/Extra.flow": f["flows/License_Exception_Push.flow"]}), "Extra",
     "not listed in package.xml"),
    (lambda f: f.update({"layouts/X.layout": b"<Layout><broken></Layout>"}), "X", "Error parsing file"),
    (lambda f: f.update({"classes/Evil.cls": b"public class Evil {}"}), "classes/Evil.cls", "Unknown type name"),
    (lambda f: f.pop("package.xml"), "package.xml", "No package.xml found"),
    (drop_field, "Request Layout", "Votes_Waiting__c does not exist"),
])
def test_a_broken_package_is_refused_with_each_component_and_why(bare, change, component, problem):
    _org, client = bare
    outcome = deploy(client, broken(change), poll_seconds=0.01)
    assert outcome.done and not outcome.success and outcome.status == "Failed"
    assert any(f.full_name.endswith(component) and problem in f.problem for f in outcome.failures), \
        outcome.problems()
    with pytest.raises(FatalError):
        client.describe(OBJECT)  # nothing of a failed deployment is applied


def test_the_deploy_request_must_carry_the_zip(bare):
    org, client = bare
    response = requests.post(f"{org.base_url}/services/data/v62.0/metadata/deployRequest",
                             headers={"Authorization": f"Bearer {client.token_store.load()['access_token']}"},
                             files={"json": (None, "{}", "application/json")}, timeout=5)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_MULTIPART_REQUEST"
