"""The admin editors take the same YAML the API does: alias loops, alias bombs and absurd nesting are refused on
the form (a 422 naming the problem), never a 500 or minutes of CPU, and nothing changes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from connector import connections
from connector.db import db
from connector.models import Connection, MappingVersion
from connector.policy_store import current_version

LOOP = "categories: &c [seat_expansion, *c]\n"
BOMB = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"l{i}: &l{i} [" + ",".join([f"*{'a' if i == 0 else f'l{i - 1}'}"] * 10) + "]\n" for i in range(12))


@pytest.fixture
def admin(signed_in):
    return signed_in("admin")


@pytest.mark.parametrize(("document", "says"), [(LOOP, "is used inside itself"), (BOMB, "expand this document")])
def test_the_policy_editor_refuses_unsafe_yaml(app, admin, csrf, document, says):
    page = admin.get("/admin/policy").get_data(as_text=True)
    for button in ({"check": "Check"}, {"save": "Save policy"}):
        r = admin.post("/admin/policy", data={"csrf_token": csrf(page), "document": document, **button})
        assert r.status_code == 422 and says in r.get_data(as_text=True)
    with app.app_context():
        assert current_version() == 1


def test_the_connection_form_refuses_unsafe_settings_yaml(app, admin, csrf):
    token = csrf(admin.get("/admin/connections").get_data(as_text=True))
    r = admin.post("/admin/connections", data={"csrf_token": token, "name": "sf-prod", "kind": "salesforce",
                                               "settings": "client_id: &x [*x]\n"})
    assert r.status_code == 422 and "is used inside itself" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Connection)) == 0


def test_the_mapping_editor_refuses_unsafe_yaml_and_deep_records(app, admin, csrf):
    with app.app_context():
        connections.create("sf-prod", "salesforce", {"client_id": "3MVG9example", "client_secret": "s",
                                                     "login_url": "https://login.salesforce.com"}, "test")
        db.session.commit()
        versions = db.session.scalar(select(func.count()).select_from(MappingVersion))
    page = admin.get("/admin/connections/sf-prod/mapping").get_data(as_text=True)
    r = admin.post("/admin/connections/sf-prod/mapping", data={
        "csrf_token": csrf(page), "document": "kind: salesforce\ninbound: &i {title: *i}\n", "save": "Save"})
    assert r.status_code == 422 and "is used inside itself" in r.get_data(as_text=True)
    deep = json.dumps({"Id": "a0X000000000001AAA"})[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}"
    r = admin.post("/admin/connections/sf-prod/mapping", data={
        "csrf_token": csrf(page), "document": "kind: salesforce\n", "record": deep, "preview": "Preview"})
    assert r.status_code == 422 and "nests" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MappingVersion)) == versions
