"""Salesforce end to end over real HTTP: the app on loopback, the Salesforce sandbox org, the web server flow, a
5,000-record sync, an Outbound Message, a committee decision, and the write-back on the record in Collections calls."""

from __future__ import annotations

import math
import time
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select
from support.servers import serve

from adapters.salesforce.sandbox import SalesforceSandbox
from connector import worker
from connector.config import reconfigure
from connector.db import db
from connector.models import Delivery, ExceptionRequest, InboundEvent

pytestmark = pytest.mark.e2e
RECORDS = 5000
ROLES = ("licensing", "legal", "product", "sales", "security")


@pytest.fixture
def sandbox():
    org = SalesforceSandbox(records=RECORDS, seed=5)
    org.serve()
    yield org
    org.shutdown()


@pytest.fixture
def app_overrides(sandbox):
    return {"CONNECTOR_ALLOWED_INSTANCE_HOSTS": urlsplit(sandbox.base_url).netloc}


def test_salesforce_from_oauth_to_the_decision_on_the_record(app, token_for, sandbox):
    admin = token_for("admin")
    committee = {role: token_for("reviewer", role, name=f"e2e-{role}") for role in ROLES}
    timings: dict[str, float] = {}
    with serve(app) as base:
        reconfigure(app, CONNECTOR_BASE_URL=base)
        http = requests.Session()
        api = f"{base}/api/v1"
        r = http.post(f"{api}/connections", headers=admin, json={"name": "sf", "kind": "salesforce", "settings": {
            "login_url": sandbox.base_url, "client_id": sandbox.client_id, "client_secret": sandbox.client_secret}})
        assert r.status_code == 201, r.text
        assert r.json()["webhook_url"] == f"{base}/webhooks/salesforce/sf"

        # OAuth: the connector → Salesforce's authorize endpoint → back to /oauth/callback, as a browser would go.
        to_salesforce = http.get(f"{api}/connections/sf/authorize", headers=admin, allow_redirects=False)
        assert to_salesforce.status_code == 302
        assert to_salesforce.headers["Location"].startswith(f"{sandbox.base_url}/services/oauth2/authorize?")
        done = requests.get(to_salesforce.headers["Location"], timeout=30)
        assert [urlsplit(h.headers["Location"]).path for h in done.history] == ["/oauth/callback"]
        assert done.status_code == 200 and done.json()["status"] == "connected", done.text
        view = http.get(f"{api}/connections/sf", headers=admin).json()
        assert view["settings"]["org_id"] == sandbox.org_id

        started = time.perf_counter()
        counts = http.post(f"{api}/connections/sf/sync", headers=admin).json()
        timings["sync"] = time.perf_counter() - started
        assert counts["stopped"] is None, counts
        assert (counts["fetched"], counts["created"], counts["pages"]) == (RECORDS, RECORDS, RECORDS // 2000 + 1)
        assert sandbox.calls["query_all"] == 1 and sandbox.calls["query_more"] == 2

        # An Outbound Message for a record a rep just changed: acknowledged once stored, a redelivery ignored.
        changed = sandbox.record_ids()[10]
        sandbox.update_record(changed, Requested_Seats__c=777)
        url = f"{base}/webhooks/salesforce/sf"
        first = sandbox.send_outbound_message(url, [changed], fields=["Id", "Name"])
        again = sandbox.send_outbound_message(url, [changed], fields=["Id", "Name"],
                                              notification_ids=first.notification_ids)
        assert (first.status_code, first.acked, again.status_code, again.acked) == (200, True, 200, True)
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(InboundEvent)) == 1

        found = http.get(f"{api}/requests?source=salesforce&state=in_review&limit=1", headers=admin).json()
        [req] = found["items"]
        for role in ROLES:
            voted = http.post(f"{api}/requests/{req['id']}/votes", headers=committee[role],
                              json={"role": role, "vote": "approve", "rationale": "within policy"})
            assert voted.status_code == 201, voted.text
        expires = (date.today() + timedelta(days=120)).isoformat()
        decided = http.post(f"{api}/requests/{req['id']}/decision", headers=committee["licensing"], json={
            "outcome": "approved", "rationale": "Bounded pilot ahead of the renewal.",
            "entitlement": {"grants": {"seats": 150}, "expires_at": expires,
                            "renewal": {"mode": "manual", "notice_days": 14}}})
        assert decided.status_code == 201, decided.text

        started = time.perf_counter()
        totals = worker.run_worker(app, once=True)  # the pushed event, then every write-back
        timings["worker"] = time.perf_counter() - started
        with app.app_context():
            sent = db.session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.target == "connection:sf", Delivery.status == "delivered"))
            pending = db.session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.status.in_(("pending", "dead"))))
        assert (totals["dead"], totals["retry"], pending) == (0, 0, 0)
        assert sent == RECORDS  # 4,999 "created" + 1 "decided" (which superseded its unsent "created")
        assert sandbox.calls["collections"] == math.ceil(sent / 200)

        record = sandbox.get_record(req["external_id"])
        assert record is not None
        assert (record["Governance_Status__c"], record["Decision__c"]) == ("approved", "approved")
        assert record["Entitlement_Expires__c"] == expires
        assert record["Entitlement_Effective__c"] == date.today().isoformat()
        assert record["Governance_Key__c"] == req["key"]
        assert record["Decision_Rationale__c"] == "Bounded pilot ahead of the renewal."
        assert "150" in record["Granted_Boundaries__c"] and record["Governance_URL__c"].startswith(base)
        other = sandbox.get_record(sandbox.record_ids()[0])
        assert other is not None and other["Governance_Status__c"] in ("in_review", "needs_info")
        with app.app_context():  # the Outbound Message's record was fetched and its change taken in
            pushed = db.session.scalars(select(ExceptionRequest).where(ExceptionRequest.external_id == changed)).one()
            assert pushed.fields["requested_terms"]["seats"] == 777

        # The write-back moved every SystemModstamp; syncing again reads them back and changes nothing.
        started = time.perf_counter()
        resync = http.post(f"{api}/connections/sf/sync", headers=admin).json()
        timings["resync"] = time.perf_counter() - started
        assert resync["stopped"] is None
        assert (resync["created"], resync["updated"], resync["unchanged"]) == (0, 0, resync["fetched"])
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.status == "pending")) == 0
    print(f"salesforce e2e timings: {timings}")
