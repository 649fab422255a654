"""The connections page's Provision button: admins only, CSRF-protected like the page's other forms; it says what
was created, reused or updated, or, when the source refused, each reason in words."""

from __future__ import annotations

import html as markup
import re
from collections.abc import Iterator

import pytest
import responses
from integration.zendesk_connector.mock_account import BASE, Account

from connector import connections
from connector.db import db

SETTINGS = {"subdomain": "acme", "auth": "api_token", "email": "admin@acme.example", "api_token": "zd-api-token"}


@pytest.fixture
def account() -> Iterator[Account]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as http:
        http.get(f"{BASE}/api/v2/users/me.json", json={"user": {"id": 360000000001, "role": "admin"}})
        yield Account(http)


@pytest.fixture
def zendesk(app, account) -> str:
    with app.app_context():
        conn = connections.create("zd-prod", "zendesk", SETTINGS, "test")
        connections.start_authorization(conn, "test")  # API-token auth: checked once, no browser
        db.session.commit()
    return "zd-prod"


def text(fragment: str) -> str:
    return markup.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def notices(html: str) -> list[str]:
    """The flashed messages (not the worker-health banner, which has no worker to see in these tests)."""
    flashed = r'<div class="notice (?!warning worker-banner)[^"]*"[^>]*>(.*?)</div>'
    return [text(m) for m in re.findall(flashed, html, re.S)]


def test_provision_button_installs_and_says_what_it_did(signed_in, zendesk, account, csrf):
    admin = signed_in("admin")
    page = admin.get("/admin/connections").get_data(as_text=True)
    assert 'action="/admin/connections/zd-prod/provision"' in page

    r = admin.post("/admin/connections/zd-prod/provision", data={"csrf_token": csrf(page)})

    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/connections")
    [said] = notices(admin.get("/admin/connections").get_data(as_text=True))
    assert said.startswith("Provisioned 'zd-prod':")
    assert "15 ticket fields (13 created, 2 reused); webhook created; 1 trigger created;" in said
    assert "app 'License Exception Connector (zd-prod)' created and its installation created" in said
    assert "the app's token issued" in said
    token = account.apps.calls[2][1]["settings"]["token"]
    assert token not in said

    admin.post("/admin/connections/zd-prod/provision", data={"csrf_token": csrf(page)})
    [again] = notices(admin.get("/admin/connections").get_data(as_text=True))
    assert "15 ticket fields reused; webhook reused; 1 trigger reused;" in again
    assert "app 'License Exception Connector (zd-prod)' updated and its installation updated" in again
    assert "the app's token rotated" in again


def test_a_refusal_is_shown_reason_by_reason(signed_in, zendesk, account, csrf):
    admin = signed_in("admin")
    page = admin.get("/admin/connections").get_data(as_text=True)
    account.apps.refuse = "Invalid manifest: location support.ticket_sidebar has no url"

    r = admin.post("/admin/connections/zd-prod/provision", data={"csrf_token": csrf(page)})

    assert r.status_code == 409
    html = r.get_data(as_text=True)
    box = html.split('id="problems"')[1].split("</div>")[0]
    assert "Provisioning &#39;zd-prod&#39; stopped" in box
    items = [text(li) for li in re.findall(r"<li>(.*?)</li>", box, re.S)]
    assert items == ["Zendesk refused it, for the reasons below. Fix them and press Provision again: whatever was "
                     "already created is found and reused.",
                     "Invalid manifest: location support.ticket_sidebar has no url"]


def test_only_admins_with_the_forms_token_can_provision(app, signed_in, zendesk, account, csrf):
    reviewer = signed_in("reviewer", "licensing")
    assert reviewer.post("/admin/connections/zd-prod/provision",
                         data={"csrf_token": csrf(reviewer.get("/queue").get_data(as_text=True))}).status_code == 403
    admin = signed_in("admin")
    assert admin.post("/admin/connections/zd-prod/provision", data={}).status_code == 400
    assert account.apps.calls == []
    assert admin.post("/admin/connections/nope/provision",
                      data={"csrf_token": csrf(admin.get("/admin/connections").get_data(as_text=True))}
                      ).status_code == 404


def test_a_refusal_without_reasons_is_told_as_the_source_said_it(signed_in, zendesk, account, csrf):
    admin = signed_in("admin")
    page = admin.get("/admin/connections").get_data(as_text=True)
    account.http.replace(responses.POST, f"{BASE}/api/v2/apps/uploads.json", status=403,
                         json={"error": "Forbidden", "description": "Private apps need the Growth plan."})

    r = admin.post("/admin/connections/zd-prod/provision", data={"csrf_token": csrf(page)})

    assert r.status_code == 409
    box = r.get_data(as_text=True).split('id="problems"')[1].split("</div>")[0]
    [said] = [text(li) for li in re.findall(r"<li>(.*?)</li>", box, re.S)]
    assert said.startswith("Provisioning 'zd-prod' stopped: Zendesk refused the request") and "Growth plan" in said


def test_the_button_waits_for_the_connection_to_be_connected(app, signed_in):
    with app.app_context():
        connections.create("zd-new", "zendesk", SETTINGS, "test")
        db.session.commit()
    page = signed_in("admin").get("/admin/connections").get_data(as_text=True)
    form = page.split('action="/admin/connections/zd-new/provision"')[1].split("</form>")[0]
    assert "disabled" in form and "Connect first" in form
