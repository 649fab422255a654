"""The connections page's Provision button in a real browser against both sandboxes: a Salesforce org that cannot
take the package (no Opportunity object) is refused component by component, in words; once it can, the package
deploys; on Zendesk the fields, webhook and trigger are set up and the ticket sidebar app is installed. Screenshots
of both outcomes are saved."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from adapters.salesforce.sandbox import SalesforceSandbox
from adapters.zendesk.sandbox import ZendeskSandbox
from connector.config import reconfigure

pytestmark = pytest.mark.e2e


@pytest.fixture
def org():
    sandbox = SalesforceSandbox(bare=True)
    sandbox.serve()
    yield sandbox
    sandbox.shutdown()


@pytest.fixture
def zendesk():
    sandbox = ZendeskSandbox(tickets=3, export_lag=0)
    sandbox.serve()
    yield sandbox
    sandbox.shutdown()


@pytest.fixture
def app_overrides(org, zendesk):
    return {"CONNECTOR_ALLOWED_INSTANCE_HOSTS": f"{urlsplit(org.base_url).netloc},127.0.0.1"}


def connect_both(app, base_url: str, admin: dict[str, str], org: SalesforceSandbox, zendesk: ZendeskSandbox) -> None:
    """Both connections created and authorized over HTTP (the OAuth dances as a browser would follow them)."""
    reconfigure(app, CONNECTOR_BASE_URL=base_url)
    http, api = requests.Session(), f"{base_url}/api/v1"
    assert http.post(f"{api}/connections", headers=admin, json={"name": "sf", "kind": "salesforce", "settings": {
        "login_url": org.base_url, "client_id": org.client_id, "client_secret": org.client_secret}}).status_code == 201
    to_salesforce = http.get(f"{api}/connections/sf/authorize", headers=admin, allow_redirects=False)
    assert requests.get(to_salesforce.headers["Location"], timeout=30).json()["status"] == "connected"
    assert http.post(f"{api}/connections", headers=admin, json={"name": "zd", "kind": "zendesk", "settings": {
        "subdomain": "sandbox", "base_url": zendesk.base_url, "client_id": zendesk.client_id,
        "client_secret": zendesk.client_secret}}).status_code == 201
    to_zendesk = http.get(f"{api}/connections/zd/authorize", headers=admin, allow_redirects=False)
    back = http.get(to_zendesk.headers["Location"], allow_redirects=False)
    assert http.get(back.headers["Location"]).json()["status"] == "connected"


def provision(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=f"Provision {name}", exact=True).click()


def test_admin_provisions_both_sources_from_the_connections_page(app, page, base_url, account, sign_in, token_for,
                                                                org, zendesk, screenshot):
    connect_both(app, base_url, token_for("admin"), org, zendesk)
    sign_in(page, account("ada.admin@vendor.example", "admin"))
    page.goto(f"{base_url}/admin/connections")

    known = org._known_objects
    org._known_objects = lambda: {k: v for k, v in known().items() if k != "Opportunity"}  # type: ignore[method-assign]
    provision(page, "sf")

    refused = page.get_by_role("alert")
    assert "Provisioning 'sf' stopped" in refused.inner_text()
    reasons = refused.get_by_role("listitem").all_inner_texts()
    assert reasons[0].startswith("Salesforce refused it, for the reasons below.")
    assert reasons[1:] == ["CustomField License_Exception_Request__c.Opportunity__c "
                           "(objects/License_Exception_Request__c.object): referenceTo value of 'Opportunity' does "
                           "not resolve to a valid sObject type"]  # one line per refused component
    screenshot(page, "connections-provision-refused-1280")

    org._known_objects = known  # type: ignore[method-assign]
    provision(page, "sf")
    deployed = page.get_by_role("status").filter(has_text="Provisioned 'sf'").inner_text()
    assert "package deployed" in deployed and "Succeeded" in deployed
    assert f"pushes go to {base_url}/webhooks/salesforce/sf" in deployed

    provision(page, "zd")
    done = page.get_by_role("status").filter(has_text="Provisioned 'zd'").inner_text()
    assert "15 ticket fields reused; webhook created; 1 trigger created;" in done
    assert "app 'License Exception Connector (zd)' created and its installation created" in done
    assert "the app's token issued" in done
    [installation] = zendesk.apps.installations.values()
    assert installation["settings"]["connection"] == "zd" and installation["settings"]["token"] not in page.content()
    screenshot(page, "connections-provisioned-1280")
