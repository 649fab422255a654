"""Write-back through sObject Collections against the sandbox, and Outbound Messages to a listener."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from adapters.salesforce.client import SalesforceClient
from adapters.salesforce.errors import FatalError, OutboundMessageError
from adapters.salesforce.outbound_message import OutboundMessage, ack_response, parse_outbound_message, soap_fault
from adapters.salesforce.sandbox import SalesforceSandbox
from adapters.tokens import InMemoryTokenStore

Connected = tuple[SalesforceSandbox, SalesforceClient, InMemoryTokenStore]


def test_collections_update_is_visible_and_one_failure_spares_the_others(connected: Connected) -> None:
    sandbox, client, _ = connected
    ids = sandbox.record_ids()[:250]
    before = sandbox.get_record(ids[5])
    assert before is not None
    sandbox.fail_record_update(ids[7], "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Locked for approval", ["Decision__c"])
    updates = [
        {
            "Id": record_id,
            "Governance_Key__c": f"LEX-{1000 + n}",
            "Governance_Status__c": "in_review",
            "Entitlement_Expires__c": "2027-06-30",
        }
        for n, record_id in enumerate(ids)
    ]
    results = client.update_records(sandbox.object_name, updates)

    assert sandbox.calls["collections"] == 2  # 200 + 50
    assert [r.id for r in results] == ids
    assert [r.id for r in results if not r.success] == [ids[7]]
    assert results[7].errors[0].status_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert results[7].errors[0].fields == ("Decision__c",)
    after = sandbox.get_record(ids[5])
    assert after is not None
    assert (after["Governance_Key__c"], after["Governance_Status__c"], after["Entitlement_Expires__c"]) == (
        "LEX-1005",
        "in_review",
        "2027-06-30",
    )
    assert after["SystemModstamp"] > before["SystemModstamp"]
    failed = sandbox.get_record(ids[7])
    assert failed is not None and failed["Governance_Key__c"] is None


def test_per_record_errors_from_salesforce_rules(connected: Connected) -> None:
    sandbox, client, _ = connected
    alive, gone = sandbox.record_ids()[:2]
    sandbox.delete_record(gone)
    results = client.update_records(
        sandbox.object_name,
        [
            {"Id": alive, "Governance_Status__c": "x" * 41},
            {"Id": gone, "Governance_Status__c": "approved"},
            {"Id": alive, "SystemModstamp": "2026-01-01T00:00:00Z"},
            {"Id": "a0X5g0000000ZZZZZZ", "Governance_Status__c": "approved"},
        ],
    )
    assert [r.errors[0].status_code for r in results] == [
        "STRING_TOO_LONG",
        "ENTITY_IS_DELETED",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_CROSS_REFERENCE_KEY",
    ]
    assert results[0].errors[0].fields == ("Governance_Status__c",)


def test_unknown_field_fails_the_whole_call(connected: Connected) -> None:
    sandbox, client, _ = connected
    with pytest.raises(FatalError) as error:
        client.update_records(sandbox.object_name, [{"Id": sandbox.record_ids()[0], "Not_A_Field__c": "x"}])
    assert error.value.code == "INVALID_FIELD"


def test_single_record_patch_and_get(connected: Connected) -> None:
    sandbox, client, _ = connected
    record_id = sandbox.record_ids()[0]
    response = client.request(
        "PATCH", client.api_path(f"sobjects/{sandbox.object_name}/{record_id}"), json={"Decision__c": "approved"}
    )
    assert response.status_code == 204
    assert client.get_record(sandbox.object_name, record_id, ["Decision__c"])["Decision__c"] == "approved"


class Listener:
    """A stand-in for the connector's webhook: parses, checks the org, acks."""

    def __init__(self, org_id: str, ack: bool = True) -> None:
        self.org_id = org_id
        self.ack = ack
        self.received: list[OutboundMessage] = []
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/salesforce/main"
        self.thread = threading.Thread(target=lambda: self.server.serve_forever(poll_interval=0.05), daemon=True)

    def app(self, environ: dict, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        try:
            message = parse_outbound_message(request.get_data(), expected_object="License_Exception_Request__c")
        except OutboundMessageError as exc:
            return Response(soap_fault(exc.message), status=500, content_type="text/xml")(environ, start_response)
        if message.organization_id != self.org_id:
            return Response(soap_fault("unknown organization"), status=500, content_type="text/xml")(
                environ, start_response
            )
        self.received.append(message)
        return Response(ack_response(self.ack), content_type="text/xml; charset=utf-8")(environ, start_response)


@pytest.fixture
def listener(sandbox: SalesforceSandbox) -> Iterator[Listener]:
    receiver = Listener(sandbox.org_id)
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_outbound_message_reaches_the_listener_and_is_acked(sandbox: SalesforceSandbox, listener: Listener) -> None:
    ids = sandbox.record_ids()[:3]
    delivery = sandbox.send_outbound_message(listener.url, ids)
    assert delivery.status_code == 200 and delivery.acked is True
    message = listener.received[0]
    assert message.organization_id == sandbox.org_id
    assert [n.record_id for n in message.notifications] == ids
    assert [n.id for n in message.notifications] == delivery.notification_ids
    stored = sandbox.get_record(ids[0])
    assert stored is not None
    fields = message.notifications[0].fields
    assert fields["Name"] == stored["Name"]
    assert fields["Baseline_Seats__c"] == str(stored["Baseline_Seats__c"])
    assert fields["IsDeleted"] == "false"
    assert str(fields["SystemModstamp"]).endswith("Z")
    assert "Account__r" not in fields  # outbound messages carry the object's own fields only


def test_redelivery_reuses_notification_ids(sandbox: SalesforceSandbox, listener: Listener) -> None:
    first = sandbox.send_outbound_message(listener.url, sandbox.record_ids()[:1])
    again = sandbox.send_outbound_message(
        listener.url, sandbox.record_ids()[:1], notification_ids=first.notification_ids
    )
    assert [m.notifications[0].id for m in listener.received] == first.notification_ids * 2
    assert again.acked


def test_outbound_message_with_session_id_and_selected_fields(sandbox: SalesforceSandbox, listener: Listener) -> None:
    sandbox.send_outbound_message(
        listener.url, sandbox.record_ids()[:1], fields=["Id", "Name"], session_id="00D!secret-session"
    )
    message = listener.received[0]
    assert set(message.notifications[0].fields) == {"Id", "Name"}
    assert message.session_id == "00D!secret-session"
    assert "secret-session" not in repr(message)


def test_nack_and_faults_are_reported(sandbox: SalesforceSandbox, listener: Listener) -> None:
    listener.ack = False
    assert sandbox.send_outbound_message(listener.url, sandbox.record_ids()[:1]).acked is False
    refused = requests.post(listener.url, data=b"<!DOCTYPE x []><x/>", timeout=5)
    assert refused.status_code == 500 and b"DOCTYPE" in refused.content


def raw_collections(sandbox: SalesforceSandbox, store: InMemoryTokenStore, body: dict) -> requests.Response:  # type: ignore[type-arg]
    token = store.load()
    assert token is not None
    return requests.patch(
        f"{sandbox.base_url}/services/data/v62.0/composite/sobjects",
        json=body,
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )


def test_collections_all_or_none_rolls_everything_back(connected: Connected) -> None:
    sandbox, _, store = connected
    good, bad = sandbox.record_ids()[:2]
    sandbox.fail_record_update(bad)
    kind = {"type": sandbox.object_name}
    response = raw_collections(
        sandbox,
        store,
        {
            "allOrNone": True,
            "records": [
                {"attributes": kind, "id": good, "Decision__c": "approved"},
                {"attributes": kind, "id": bad, "Decision__c": "approved"},
            ],
        },
    )
    assert response.status_code == 200
    assert [item["errors"][0]["statusCode"] for item in response.json()] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    ]
    record = sandbox.get_record(good)
    assert record is not None and record["Decision__c"] is None


def test_collections_refuse_more_than_200_records_and_accept_15_character_ids(connected: Connected) -> None:
    sandbox, _, store = connected
    kind = {"type": sandbox.object_name}
    record_id = sandbox.record_ids()[0]
    too_many = raw_collections(
        sandbox, store, {"records": [{"attributes": kind, "id": record_id, "Decision__c": "x"}] * 201}
    )
    assert too_many.status_code == 400 and too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    short = raw_collections(
        sandbox, store, {"records": [{"attributes": kind, "id": record_id[:15], "Decision__c": "x"}]}
    )
    assert short.json() == [{"id": record_id, "success": True, "errors": []}]
