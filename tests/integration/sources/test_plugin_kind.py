"""A third source kind, shipped as its own distribution: found through the entry-point group, run end to end.

The example kind lives in a module and a ``*.dist-info`` written to a temporary directory put on ``sys.path``,
as ``pip install`` would leave them; nothing under ``connector/`` names it. The test creates a connection of
that kind through the API, connects it (server to server), syncs it (its pages come from a list), decides the
request it brought in, drains the deliveries, and finds the decision in what the kind was asked to write back.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector import delivery
from connector.sources import ENTRY_POINT_GROUP, SourceKind, clear_registry, get_kind, kinds

MODULE = "lec_example_kind"

#: the whole distribution: a kind reading records from a list, writing back into another
KIND_SOURCE = '''
from marshmallow import RAISE, Schema, fields

from connector.sources import AuthorizationResult, Outcome, SourceKind, SourcePage, SourceRecord
from mappings import load_mapping
from mappings.dialect import SourceDialect

RECORDS = []  # what the source holds
WRITTEN = []  # every WriteBackItem deliver() was given

MAPPING = {
    "kind": "example",
    "inbound": {
        "title": "subject", "use_case": "why", "category": "category", "customer.name": "customer",
        "requester.email": "email", "requested_terms.seats": {"from": "seats", "type": "integer"},
        "revenue_impact.amount": {"from": "amount", "type": "decimal"}, "revenue_impact.currency": "currency",
        "data_sensitivity": "sensitivity",
    },
    "outbound": {"status": "state", "key": "key", "outcome": "decision.outcome"},
}


class Settings(Schema):
    class Meta:
        unknown = RAISE

    team = fields.String(load_default="licensing")


class ExampleKind(SourceKind):
    name = "example"
    label = "Example"
    settings_schema = Settings
    dialect = SourceDialect(name="example", label="Example", record_noun="record", field_list="fields",
                            id_path="id", modified_path="updated_at")

    def default_mapping(self):
        return load_mapping(MAPPING)

    def authorize_without_browser(self, ctx):
        return AuthorizationResult(token={"granted": True})

    def pages(self, ctx, watermark):
        start = int((watermark or {}).get("offset", 0))
        records = [SourceRecord(str(raw["id"]), raw) for raw in RECORDS[start:]]
        yield SourcePage(records, {"offset": len(RECORDS)}, http_calls=1)

    def deliver(self, ctx, items):
        WRITTEN.extend(items)
        return [Outcome("delivered", "written to the example source") for _ in items]
'''


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The example distribution on ``sys.path``: its module and a dist-info declaring the entry point."""
    (tmp_path / f"{MODULE}.py").write_text(textwrap.dedent(KIND_SOURCE))
    info = tmp_path / "lec_example_kind-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lec-example-kind\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nexample = {MODULE}:ExampleKind\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    clear_registry()
    yield sys.modules.get(MODULE) or __import__(MODULE)
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    clear_registry()


def test_the_registry_finds_the_built_in_kinds_through_their_entry_points() -> None:
    assert list(kinds()) == ["salesforce", "zendesk"]
    assert all(isinstance(kind, SourceKind) for kind in kinds().values())


def test_a_kind_from_another_distribution_runs_end_to_end(installed: ModuleType, app: Flask, client: FlaskClient,
                                                          token_for: Callable[..., dict[str, str]]) -> None:
    admin, chair = token_for("admin"), token_for("reviewer", "licensing", name="licensing-chair")
    assert get_kind("example").label == "Example"
    installed.RECORDS.append({
        "id": 7, "subject": "Five more seats", "why": "A pilot team joins", "category": "seat_expansion",
        "customer": "Acme GmbH", "email": "rita@vendor.example", "seats": "105", "amount": "1200.00",
        "currency": "USD", "sensitivity": "internal", "updated_at": "2026-11-20T10:30:00Z"})

    created = client.post("/api/v1/connections", headers=admin,
                          json={"name": "ex", "kind": "example", "settings": {"team": "emea"}})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["status"] == "needs_authorization"
    connected = client.get("/api/v1/connections/ex/authorize", headers=admin)
    assert connected.status_code == 200 and connected.get_json()["status"] == "connected", connected.get_json()

    synced = client.post("/api/v1/connections/ex/sync", headers=admin).get_json()
    assert (synced["fetched"], synced["created"], synced["stopped"]) == (1, 1, None), synced
    [request] = client.get("/api/v1/requests?connection=ex", headers=admin).get_json()["items"]
    assert request["external_id"] == "7" and request["state"] == "in_review", request

    voted = client.post(f"/api/v1/requests/{request['id']}/votes", headers=chair,
                        json={"role": "licensing", "vote": "approve", "rationale": "Fits the pilot."})
    assert voted.status_code in (200, 201), voted.get_json()
    start = date.today()
    decided = client.post(f"/api/v1/requests/{request['id']}/decision", headers=chair, json={
        "outcome": "approved", "rationale": "Fits the pilot.",
        "entitlement": {"grants": {"seats": 105}, "effective_from": start.isoformat(),
                        "expires_at": (start + timedelta(days=90)).isoformat()}})
    assert decided.status_code == 201, decided.get_json()

    with app.app_context():
        assert delivery.drain()["delivered"] >= 1
    told: list[Any] = installed.WRITTEN  # older unsent write-backs are superseded: the kind keeps no announcements
    assert told and told[-1].change == "decided"
    last = told[-1]
    assert last.view["key"] == request["key"] and last.view["state"] == "approved"
    assert last.view["decision"]["outcome"] == "approved" and last.attempt == 1


def test_an_unknown_kind_is_refused_with_the_installed_ones(client: FlaskClient,
                                                            token_for: Callable[..., dict[str, str]]) -> None:
    r = client.post("/api/v1/connections", headers=token_for("admin"),
                    json={"name": "nope", "kind": "example", "settings": {}})
    assert r.status_code == 422
    assert "Must be one of: salesforce, zendesk." in str(r.get_json())
