"""Pushes governed before they are read: ``allowed_push_networks`` (403) with the client address behind
``CONNECTOR_TRUSTED_PROXIES``, a per-connection rate (429 + ``Retry-After``), the SOAP media types (415)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from integration.salesforce_connector.mock_org import MockOrg, create_connection, envelope, record_id
from sqlalchemy import func, select

from connector import push_governance
from connector.api import webhooks
from connector.config import reconfigure
from connector.db import db
from connector.models import InboundEvent, PushWindow

SOAP = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


def stored(app) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(InboundEvent)) or 0)


def push(client, n: int, *, remote: str = "127.0.0.1", forwarded: str | None = None, name: str = "sf",
         headers: dict[str, str] | None = None):
    extra = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return client.post(f"/webhooks/salesforce/{name}", data=envelope([record_id(n)], [f"04l5g0000009{n:03d}AAA"]),
                       headers={**(headers or SOAP), **extra}, environ_base={"REMOTE_ADDR": remote})


def restrict(client, admin, networks) -> None:
    r = client.patch("/api/v1/connections/sf", headers=admin, json={"settings": {"allowed_push_networks": networks}})
    assert r.status_code == 200, r.get_json()


def test_pushes_from_outside_the_allowed_networks_are_refused(client, admin, org: MockOrg, connected, app) -> None:
    restrict(client, admin, ["203.0.113.0/24", "2001:db8::/32"])

    outside = push(client, 1, remote="198.51.100.7")
    assert outside.status_code == 403 and outside.get_json()["code"] == "push_network_refused"
    assert set(outside.get_json()) == {"code", "message", "status", "details"}
    assert push(client, 2, remote="203.0.113.9").status_code == 200
    assert push(client, 3, remote="2001:db8::7").status_code == 200
    assert push(client, 4, remote="::ffff:203.0.113.10").status_code == 200  # IPv4-mapped: the IPv4 address
    assert push(client, 5, remote="203.0.114.1", forwarded="203.0.113.9").status_code == 403  # no proxy trusted
    assert stored(app) == 3

    restrict(client, admin, [])  # empty: from anywhere
    assert push(client, 6, remote="198.51.100.7").status_code == 200


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client(client, admin, org: MockOrg, connected,
                                                                         app) -> None:
    restrict(client, admin, ["203.0.113.0/24"])
    reconfigure(app, CONNECTOR_TRUSTED_PROXIES="10.0.0.0/8, 192.168.0.0/16")

    assert push(client, 1, remote="10.0.0.5", forwarded="203.0.113.9").status_code == 200
    assert push(client, 2, remote="10.0.0.5", forwarded="203.0.113.9, 192.168.1.1").status_code == 200  # two proxies
    # a client outside writes an allowed address into the header itself: the proxy appends the real one
    spoofed = push(client, 3, remote="10.0.0.5", forwarded="203.0.113.9, 198.51.100.7")
    assert spoofed.status_code == 403 and "198.51.100.7" in spoofed.get_json()["message"]
    assert push(client, 4, remote="10.0.0.5", forwarded="not-an-address").status_code == 403  # unknown: refused
    # an untrusted peer's header is not believed at all
    assert push(client, 5, remote="198.51.100.7", forwarded="203.0.113.9").status_code == 403
    assert stored(app) == 2


def test_settings_refuse_what_is_not_a_network_field_by_field(client, admin, org: MockOrg, connected) -> None:
    r = client.patch("/api/v1/connections/sf", headers=admin,
                     json={"settings": {"allowed_push_networks": ["203.0.113.0/24", "203.0.113.9/24", "salesforce"]}})
    assert r.status_code == 422
    fields = r.get_json()["details"]["fields"]
    assert set(fields) == {"settings.allowed_push_networks.1", "settings.allowed_push_networks.2"}
    assert "host bits set" in fields["settings.allowed_push_networks.1"][0]
    created = client.post("/api/v1/connections", headers=admin, json={
        "name": "sf2", "kind": "salesforce", "settings": {"client_id": "x", "allowed_push_networks": "10.0.0.0/8"}})
    assert created.status_code == 422 and "settings.allowed_push_networks" in created.get_json()["details"]["fields"]


@pytest.fixture
def frozen(monkeypatch):
    """The push endpoint's clock at 30 s into a minute."""
    moment = {"now": datetime(2026, 12, 3, 12, 0, 30, tzinfo=UTC)}
    monkeypatch.setattr(webhooks, "utcnow", lambda: moment["now"])
    return moment


def test_a_connection_takes_its_push_rate_then_429_with_retry_after(client, admin, org: MockOrg, connected, app,
                                                                    frozen) -> None:
    reconfigure(app, CONNECTOR_PUSH_RATE_LIMIT=3)
    create_connection(client, admin, name="other")

    answers = [push(client, n) for n in range(1, 6)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    assert answers[3].headers["Retry-After"] == "30" and answers[3].get_json()["code"] == "push_rate_limited"
    assert stored(app) == 3
    other = push(client, 9, name="other")  # another connection's rate is its own
    assert other.status_code == 403 and other.get_json()["code"] == "org_unknown"  # (it is not authorized)

    frozen["now"] = datetime(2026, 12, 3, 12, 1, 0, tzinfo=UTC)  # the next minute
    assert push(client, 6).status_code == 200
    with app.app_context():  # the worker forgets the minutes that are over
        push_governance.prune(datetime(2026, 12, 3, 12, 3, 0, tzinfo=UTC))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(PushWindow)) == 0


def test_only_soap_media_types_are_accepted(client, org: MockOrg, connected, app) -> None:
    refused = [push(client, n, headers={"Content-Type": kind}) for n, kind in
               enumerate(("application/json", "text/plain", "application/xml", ""), start=1)]
    assert [r.status_code for r in refused] == [415] * 4
    assert refused[0].get_json()["code"] == "unsupported_media_type"
    assert "'text/xml' or 'application/soap+xml'" in refused[0].get_json()["message"]
    assert push(client, 7, headers={"Content-Type": "application/soap+xml; charset=utf-8"}).status_code == 200
    assert push(client, 8, headers={"Content-Type": "TEXT/XML"}).status_code == 200
    assert stored(app) == 2
