"""Installing into Salesforce end to end over real HTTP: a bare sandbox org, ``provision`` deploys the package
through the Metadata API, a record a rep creates is pushed by the deployed flow's outbound message, becomes a
request, is decided, and the record shows the decision."""

from __future__ import annotations

import time
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from support.servers import serve

from adapters.salesforce.sandbox import SalesforceSandbox
from connector import worker
from connector.config import reconfigure

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox():
    org = SalesforceSandbox(bare=True)
    org.serve()
    yield org
    org.shutdown()


@pytest.fixture
def app_overrides(sandbox):
    return {"CONNECTOR_ALLOWED_INSTANCE_HOSTS": urlsplit(sandbox.base_url).netloc}


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_provision_deploys_the_package_and_the_flow_pushes_a_new_record_to_its_decision(app, token_for, sandbox):
    admin, chair = token_for("admin"), token_for("reviewer", "licensing", name="chair")
    with serve(app) as base:
        reconfigure(app, CONNECTOR_BASE_URL=base)
        http, api = requests.Session(), f"{base}/api/v1"
        assert http.post(f"{api}/connections", headers=admin, json={"name": "sf", "kind": "salesforce", "settings": {
            "login_url": sandbox.base_url, "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret}}).status_code == 201
        to_salesforce = http.get(f"{api}/connections/sf/authorize", headers=admin, allow_redirects=False)
        assert requests.get(to_salesforce.headers["Location"], timeout=30).json()["status"] == "connected"

        provisioned = http.post(f"{api}/connections/sf/provision", headers=admin)
        assert provisioned.status_code == 200, provisioned.text
        report = provisioned.json()
        assert report["deployment"]["status"] == "Succeeded" and report["deployment"]["components"] > 50
        assert report["push_url"] == f"{base}/webhooks/salesforce/sf"
        assert report["integration_user"] == sandbox.username
        view = http.get(f"{api}/connections/sf", headers=admin).json()
        assert view["settings"]["push_url"] == report["push_url"]
        again = http.post(f"{api}/connections/sf/provision", headers=admin)  # idempotent
        assert again.status_code == 200 and again.json()["deployment"]["status"] == "Succeeded"

        # A rep files a request in Salesforce, forgetting the account and the requester: the deployed flow pushes
        # it, the worker fetches and governs it, and the record says which fields to fill.
        record_id = sandbox.add_record(
            Name="Acme: 8 more seats", Category__c="Seat Expansion", Requested_Seats__c=108, Baseline_Seats__c=100,
            Justification__c="Pilot for a new team", Use_Case__c="Internal analytics", Revenue_Impact__c=4000,
            Data_Sensitivity__c="Internal", Requested_Start__c=date.today().isoformat(),
            Requested_End__c=(date.today() + timedelta(days=90)).isoformat(), User_Base__c=8)
        wait_for(lambda: sum(len(d.notification_ids) for d in sandbox.push_log if d.acked) == 1)
        worker.run_worker(app, once=True)  # the pushed event, then the write-back
        record = sandbox.get_record(record_id)
        assert record is not None and record["Governance_Status__c"] == "needs_info"
        assert record["Missing_Fields__c"] == "Account__r.Name, Requester__r.Email"

        # The rep fills them in (the status component's inline form does this): pushed again, now in review. The
        # record was fetched for a push seconds ago; by default pushes fetch a record at most once per
        # CONNECTOR_PUSH_REFETCH_SECONDS (the sync interval), so this installation opts for freshness instead.
        reconfigure(app, CONNECTOR_PUSH_REFETCH_SECONDS=0)
        sandbox.update_record(record_id, Account__c=sandbox.related_ids("Account")[0],
                              Requester__c=sandbox.related_ids("User")[0])
        wait_for(lambda: sum(len(d.notification_ids) for d in sandbox.push_log if d.acked) == 2)
        worker.run_worker(app, once=True)
        [req] = [r for r in http.get(f"{api}/requests?source=salesforce", headers=admin).json()["items"]
                 if r["external_id"] == record_id]
        assert (req["state"], req["track"]) == ("in_review", "fast"), req["intake"]
        decided = http.post(f"{api}/requests/{req['id']}/decision", headers=chair, json={
            "outcome": "denied", "rationale": "Not within this quarter's policy."})
        assert decided.status_code == 201, decided.text
        worker.run_worker(app, once=True)
        record = sandbox.get_record(record_id)
        assert record is not None
        assert (record["Governance_Status__c"], record["Decision__c"]) == ("denied", "denied")
        assert record["Decision_Rationale__c"] == "Not within this quarter's policy."
        assert record["Missing_Fields__c"] is None
        assert record["Governance_Key__c"] == req["key"]
        time.sleep(0.3)
        pushes = sum(len(d.notification_ids) for d in sandbox.push_log if d.acked)
        assert pushes == 2  # the rep's two saves; the connector's own write-backs did not echo back as pushes
