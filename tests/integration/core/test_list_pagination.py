"""Every list is cursor-paginated (SPEC §7.4): connections and mapping versions too, with ``?after=``/``?limit=``."""

from __future__ import annotations

from sqlalchemy import select

from connector import connections
from connector.db import db
from connector.models import Connection, MappingVersion

SETTINGS = {"client_id": "3MVG9example", "client_secret": "s", "login_url": "https://login.salesforce.com"}


def walk(client, path, headers, limit):
    items, cursor, pages = [], None, 0
    while True:
        r = client.get(path, query_string={"limit": limit, **({"after": cursor} if cursor else {})}, headers=headers)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert len(body["items"]) <= limit
        items += body["items"]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            return items, pages


def test_connections_are_paginated(app, client, token_for):
    with app.app_context():
        for name in ("sf-c", "sf-a", "sf-b"):
            connections.create(name, "salesforce", SETTINGS, "test")
        db.session.commit()
    admin = token_for("admin")
    items, pages = walk(client, "/api/v1/connections", admin, 2)
    assert [c["name"] for c in items] == ["sf-c", "sf-a", "sf-b"] and pages == 2  # oldest first
    assert client.get("/api/v1/connections?limit=abc", headers=admin).status_code == 422
    bad = client.get("/api/v1/connections?after=garbage", headers=admin)
    assert bad.status_code == 422 and bad.get_json()["code"] == "bad_cursor"
    assert client.get("/api/v1/connections?limit=501", headers=admin).status_code == 422


def test_mapping_versions_are_paginated_newest_first(app, client, token_for):
    with app.app_context():
        conn = connections.create("sf", "salesforce", SETTINGS, "test")
        db.session.flush()
        first = db.session.scalar(select(MappingVersion).where(MappingVersion.connection_id == conn.id))
        assert first is not None
        for version in range(first.version + 1, first.version + 5):
            db.session.add(MappingVersion(connection_id=conn.id, version=version, document=first.document,
                                          created_by="test"))
        top = first.version + 4
        db.session.commit()
    items, pages = walk(client, "/api/v1/connections/sf/mapping/versions", token_for("auditor"), 2)
    assert [v["version"] for v in items] == list(range(top, top - 5, -1)) and pages == 3
    with app.app_context():
        assert db.session.scalar(select(Connection.mapping_version).where(Connection.name == "sf")) in {
            v["version"] for v in items if v["current"]}
