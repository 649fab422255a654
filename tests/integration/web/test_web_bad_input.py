"""The UI answers bad input with a page that says what to fix (4xx), never a 500, and never shows a secret back."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from pathlib import Path

from support.bodies import LARGE, SMALL

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"


def token(csrf, client, url="/admin/connections"):
    return csrf(client.get(url).get_data(as_text=True))


def test_a_nul_character_anywhere_is_a_400_page(client, signed_in, submit, csrf):
    r = client.post("/sign-in", data={"csrf_token": token(csrf, client, "/sign-in"), "email": "a\x00@b.example",
                                      "password": "x" * 12})
    assert r.status_code == 400 and "NUL character" in r.get_data(as_text=True)
    key = submit(copy.deepcopy(LARGE))
    legal = signed_in("reviewer", "legal")
    r = legal.post(f"/requests/{key}/votes", data={"csrf_token": token(csrf, legal, f"/requests/{key}"),
                                                   "role": "legal", "vote": "reject", "rationale": "no\x00"})
    assert r.status_code == 400
    assert legal.get("/requests/LEX%00").status_code == 400
    assert legal.get("/requests?state=in_review%00").status_code == 400


def test_yaml_the_loader_cannot_build_is_a_422(signed_in, csrf):
    admin = signed_in("admin")
    r = admin.post("/admin/connections", data={"csrf_token": token(csrf, admin), "name": "zd", "kind": "zendesk",
                                               "settings": "subdomain: acme\nclient_id: a\ntag: 2024-02-30\n"})
    assert r.status_code == 422
    assert "is not valid YAML: a value cannot be read (day is out of range" in r.get_data(as_text=True)
    for document in ("a: 2024-02-30\n", "a: !!int 0x\n", "[" * 3000):
        r = admin.post("/admin/policy", data={"csrf_token": token(csrf, admin, "/admin/policy"),
                                              "document": document, "check": "Check"})
        assert r.status_code == 422, (document[:20], r.status_code)


def test_a_huge_list_position_is_the_first_page(signed_in):
    intake = signed_in("intake")
    assert intake.get("/requests?before=99999999999999999999").status_code == 200
    admin = signed_in("admin")
    assert admin.get("/admin/deliveries?before=99999999999999999999").status_code == 200
    assert admin.get("/audit?before=-5").status_code == 200


def test_a_mapping_with_a_number_no_column_holds_is_refused_on_the_form(signed_in, csrf):
    admin = signed_in("admin")
    admin.post("/admin/connections", data={"csrf_token": token(csrf, admin), "name": "zd", "kind": "zendesk",
                                           "settings": "subdomain: acme\nclient_id: a\nclient_secret: b\n"})
    document = (MAPPINGS / "zendesk.yaml").read_text().replace("default: USD", "default: 99999999999999999999999")
    r = admin.post("/admin/connections/zd/mapping", data={"csrf_token": token(csrf, admin), "document": document,
                                                          "save": "Save"})
    assert r.status_code == 422 and "Must be at most 9223372036854775807." in r.get_data(as_text=True)


def test_a_signalling_nan_price_is_a_field_error(signed_in, submit, csrf):
    key = submit(copy.deepcopy(SMALL))
    chair = signed_in("reviewer", "licensing")
    r = chair.post(f"/requests/{key}/decision", data={
        "csrf_token": token(csrf, chair, f"/requests/{key}"), "outcome": "approved", "rationale": "ok",
        "grants_price": "sNaN", "renewal_mode": "manual",
        "expires_at": (date.today() + timedelta(days=30)).isoformat(), "submit": "Record decision"})
    assert r.status_code == 422 and "Give a finite number." in r.get_data(as_text=True)


def test_a_refused_connection_form_never_shows_a_secret_back(signed_in, csrf):
    admin = signed_in("admin")
    settings = ("client_id: a\nclient_secret: TOPSECRET-123\napi_version: 1\nprivate_key: |\n"
                "  -----BEGIN PRIVATE KEY-----\n  MIIEvTOPSECRETKEY\n  -----END PRIVATE KEY-----\nobject: X__c\n")
    r = admin.post("/admin/connections", data={"csrf_token": token(csrf, admin), "name": "sf", "kind": "salesforce",
                                               "settings": settings})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "TOPSECRET" not in html and "enter it again" in html
    assert "client_id: a" in html and "object: X__c" in html  # the rest of what was typed stays
