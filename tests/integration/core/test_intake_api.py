"""Intake through the HTTP API: tracks, risk bands, needs_info, conflicts and refused input."""

from __future__ import annotations

import json

import pytest

from connector.db import db
from connector.models import AuditEvent, ExceptionRequest


def count_requests(app) -> tuple[int, int]:
    with app.app_context():
        return db.session.query(ExceptionRequest).count(), db.session.query(AuditEvent).count()


def test_small_request_lands_in_review_on_fast_track(client, token_for, small):
    r = client.post("/api/v1/requests", json=small, headers=token_for("intake"))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["state"] == "in_review"
    assert body["track"] == "fast"
    assert body["risk"]["band"] in ("low", "medium")
    assert set(body["risk"]["dimensions"]) == {"commercial", "legal", "technical", "reputational"}
    assert body["key"].startswith("LEX-")
    assert body["source"] == "api"
    assert body["intake"] == {"missing": [], "errors": {}, "conflicts": []}
    assert body["sla"]["due_at"] is not None and body["sla"]["overdue"] is False
    assert body["customer"]["name"] == "Acme GmbH"
    assert body["revenue_impact"] == {"amount": "500", "currency": "USD"}


def test_large_request_standard_track_high_band_needs_every_role(client, token_for, large):
    r = client.post("/api/v1/requests", json=large, headers=token_for("intake"))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["state"] == "in_review"
    assert body["track"] == "standard"
    assert body["risk"]["band"] in ("high", "critical")
    explained = {line["because"] for line in body["risk"]["explanation"]}
    assert any("Redistribution" in b for b in explained)
    assert any("Regulated" in b for b in explained)
    # approving straight away names every committee role as missing
    chair = token_for("reviewer", "licensing")
    refused = client.post(f"/api/v1/requests/{body['id']}/decision", headers=chair, json={
        "outcome": "approved", "rationale": "Strategic",
        "entitlement": {"grants": {"usage_rights": ["oem"]}, "expires_at": "2027-06-30"}})
    assert refused.status_code == 409
    assert set(refused.get_json()["details"]["missing_roles"]) == {"licensing", "legal", "product", "sales",
                                                                   "security"}


def test_missing_fields_make_needs_info_with_dotted_paths(client, token_for, small):
    del small["customer"]["name"]
    del small["requester"]["email"]
    del small["revenue_impact"]["currency"]
    small["use_case"] = "   "
    r = client.post("/api/v1/requests", json=small, headers=token_for("intake"))
    assert r.status_code == 201
    body = r.get_json()
    assert body["state"] == "needs_info"
    assert body["intake"]["missing"] == ["customer.name", "requester.email", "use_case", "revenue_impact.currency"]
    assert body["sla"]["due_at"] is None


def test_empty_request_is_kept_as_needs_info(client, token_for):
    r = client.post("/api/v1/requests", json={}, headers=token_for("intake"))
    assert r.status_code == 201
    assert r.get_json()["state"] == "needs_info"
    assert "title" in r.get_json()["intake"]["missing"]


def test_contradictions_are_conflicts_with_codes(client, token_for, small):
    small["requested_start"], small["requested_end"] = "2027-02-01", "2027-01-01"
    small["requested_terms"] = {"seats": 90, "regions": ["EMEA"], "term_end": "2027-01-01"}
    small["baseline_terms"] = {"seats": 100, "regions": ["EMEA", "NA"], "term_end": "2027-06-30"}
    small["category"] = "term_extension"
    r = client.post("/api/v1/requests", json=small, headers=token_for("intake"))
    body = r.get_json()
    codes = {c["code"] for c in body["intake"]["conflicts"]}
    assert codes == {"end_before_start", "seats_not_increased", "term_end_not_extended", "regions_already_licensed"}
    assert body["state"] == "needs_info"
    small["requested_terms"] = {"seats": 120}
    r = client.post("/api/v1/requests", json=small, headers=token_for("intake"))
    assert "term_extension_without_term_end" in {c["code"] for c in r.get_json()["intake"]["conflicts"]}


def test_wrong_types_are_422_naming_fields_and_nothing_stored(app, client, token_for, small):
    headers = token_for("intake")
    before = count_requests(app)
    small["user_base"] = "many"
    small["revenue_impact"]["amount"] = -5
    small["requester"]["email"] = "not-an-email"
    small["requested_terms"]["seats"] = 105.5
    small["requested_start"] = "next week"
    small["surprise"] = 1
    r = client.post("/api/v1/requests", json=small, headers=headers)
    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "invalid_input"
    assert set(body["details"]["fields"]) == {"user_base", "revenue_impact.amount", "requester.email",
                                              "requested_terms.seats", "requested_start", "surprise"}
    assert count_requests(app) == before


def test_unknown_category_is_422(client, token_for, small):
    small["category"] = "free_beer"
    r = client.post("/api/v1/requests", json=small, headers=token_for("intake"))
    assert r.status_code == 422
    assert "category" in r.get_json()["details"]["fields"]


def test_malformed_json_is_400_and_nothing_stored(app, client, token_for):
    headers = token_for("intake")
    before = count_requests(app)
    r = client.post("/api/v1/requests", data='{"title": "x",', content_type="application/json", headers=headers)
    assert r.status_code == 400
    assert r.get_json()["code"] == "malformed_json"
    assert count_requests(app) == before


def test_oversized_body_is_413_and_nothing_stored(app, client, token_for, small):
    headers = token_for("intake")
    before = count_requests(app)
    small["justification"] = "x" * (1024 * 1024 + 10)
    r = client.post("/api/v1/requests", data=json.dumps(small), content_type="application/json", headers=headers)
    assert r.status_code == 413
    assert r.get_json()["code"] == "body_too_large"
    assert count_requests(app) == before


def test_non_json_body_is_415(client, token_for):
    r = client.post("/api/v1/requests", data="title=x", content_type="application/x-www-form-urlencoded",
                    headers=token_for("intake"))
    assert r.status_code == 415


def test_auth_401_and_403(client, token_for, small):
    assert client.post("/api/v1/requests", json=small).status_code == 401
    bad = client.post("/api/v1/requests", json=small, headers={"Authorization": "Bearer lec_nope"})
    assert bad.status_code == 401 and bad.get_json()["code"] == "invalid_token"
    forbidden = client.post("/api/v1/requests", json=small, headers=token_for("billing"))
    assert forbidden.status_code == 403
    assert forbidden.get_json()["details"]["required_roles"] == ["intake", "admin"]
    assert client.get("/api/v1/requests", headers=token_for("billing")).status_code == 403
    assert client.get("/api/v1/requests", headers=token_for("auditor")).status_code == 200


def test_external_id_makes_intake_idempotent(app, client, token_for, small):
    headers = token_for("intake")
    small["external_id"] = "CRM-1"
    first = client.post("/api/v1/requests", json=small, headers=headers)
    assert first.status_code == 201
    _, events = count_requests(app)
    again = client.post("/api/v1/requests", json=small, headers=headers)
    assert again.status_code == 200 and again.get_json()["intake_outcome"] == "unchanged"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count_requests(app) == (1, events)  # no audit noise
    small["requested_terms"]["seats"] = 110
    changed = client.post("/api/v1/requests", json=small, headers=headers)
    assert changed.get_json()["intake_outcome"] == "updated"
    assert changed.get_json()["requested_terms"]["seats"] == 110


def test_list_filters_and_cursor_pagination(client, token_for, small, large):
    headers = token_for("intake")
    for _ in range(3):
        client.post("/api/v1/requests", json=small, headers=headers)
    client.post("/api/v1/requests", json=large, headers=headers)
    client.post("/api/v1/requests", json={"title": "incomplete"}, headers=headers)
    reader = token_for("auditor")
    assert len(client.get("/api/v1/requests?track=fast", headers=reader).get_json()["items"]) == 3
    assert len(client.get("/api/v1/requests?state=needs_info", headers=reader).get_json()["items"]) == 1
    assert len(client.get("/api/v1/requests?category=usage_rights", headers=reader).get_json()["items"]) == 1
    assert len(client.get("/api/v1/requests?band=low", headers=reader).get_json()["items"]) >= 3
    assert client.get("/api/v1/requests?overdue=true", headers=reader).get_json()["items"] == []
    seen, cursor = [], None
    while True:
        url = "/api/v1/requests?limit=2" + (f"&after={cursor}" if cursor else "")
        page = client.get(url, headers=reader).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert client.get("/api/v1/requests?after=garbage", headers=reader).status_code == 422
    assert client.get("/api/v1/requests?state=bogus", headers=reader).status_code == 422


def test_get_by_key_and_404(client, token_for, small):
    created = client.post("/api/v1/requests", json=small, headers=token_for("intake")).get_json()
    reader = token_for("reviewer", "legal")
    assert client.get(f"/api/v1/requests/{created['key']}", headers=reader).get_json()["id"] == created["id"]
    missing = client.get("/api/v1/requests/LEX-999999", headers=reader)
    assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"


def test_a_post_without_a_body_is_refused_and_nothing_stored(app, client, token_for):
    headers = token_for("intake")
    before = count_requests(app)
    r = client.post("/api/v1/requests", headers=headers)
    assert r.status_code == 422 and r.get_json()["code"] == "empty_body"
    assert count_requests(app) == before


@pytest.mark.parametrize("path, value", [
    (("user_base",), 10**30), (("requested_terms", "seats"), -(10**20)),
    (("revenue_impact", "amount"), "1e400"), (("requested_terms", "price"), 10**16),
])
def test_numbers_beyond_what_is_stored_are_422_not_500(app, client, token_for, small, path, value):
    headers = token_for("intake")
    before = count_requests(app)
    target = small
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    r = client.post("/api/v1/requests", data=json.dumps(small).replace('"1e400"', "1e400"),
                    content_type="application/json", headers=headers)
    assert r.status_code == 422, r.get_json()
    assert ".".join(path) in r.get_json()["details"]["fields"]
    assert count_requests(app) == before


def test_a_nul_character_is_422_naming_the_field_and_nothing_stored(app, client, token_for, small):
    headers = token_for("intake")
    before = count_requests(app)
    small["customer"]["name"] = "Acme\u0000GmbH"
    r = client.post("/api/v1/requests", json=small, headers=headers)
    assert r.status_code == 422
    assert list(r.get_json()["details"]["fields"]) == ["customer.name"]
    assert count_requests(app) == before


@pytest.mark.parametrize("cursor", ["YzoxMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw", "YzotNQ", "!!!", "eDox"])
def test_a_cursor_we_did_not_give_out_is_422(client, token_for, cursor):
    r = client.get(f"/api/v1/requests?after={cursor}", headers=token_for("admin"))
    assert r.status_code == 422 and r.get_json()["code"] == "bad_cursor"


def test_an_id_beyond_any_row_is_404(client, token_for):
    r = client.post("/api/v1/deliveries/99999999999999999999999/retry", headers=token_for("admin"))
    assert r.status_code == 404
