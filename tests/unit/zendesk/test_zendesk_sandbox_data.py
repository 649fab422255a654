"""The sandbox's generated account: deterministic per seed, realistic mix, documented shapes (no network)."""

from __future__ import annotations

from werkzeug.test import Client

from adapters.zendesk.oauth import normalize_token
from adapters.zendesk.sandbox import ZendeskSandbox

ANCHOR = 1_790_000_000.0


def tickets_of(sandbox: ZendeskSandbox) -> list[dict]:
    return [sandbox.ticket(ticket_id) for ticket_id in sandbox.ticket_ids()]


def comparable(ticket: dict) -> tuple:
    return ticket["id"], ticket["subject"], tuple(ticket["tags"]), str(ticket["custom_fields"]), ticket["updated_at"]


def test_the_same_seed_gives_the_same_account_and_another_seed_does_not():
    first = [comparable(t) for t in tickets_of(ZendeskSandbox(tickets=300, seed=42, anchor=ANCHOR))]
    again = [comparable(t) for t in tickets_of(ZendeskSandbox(tickets=300, seed=42, anchor=ANCHOR))]
    other = [comparable(t) for t in tickets_of(ZendeskSandbox(tickets=300, seed=43, anchor=ANCHOR))]

    assert first == again
    assert first != other


def test_most_tickets_are_exception_requests_some_are_not_and_some_are_incomplete():
    sandbox = ZendeskSandbox(tickets=1000, seed=9, anchor=ANCHOR)
    tickets = tickets_of(sandbox)
    required = [sandbox.field_ids[name] for name in ("category", "revenue_impact", "currency", "data_sensitivity")]

    tagged = [t for t in tickets if "license_exception" in t["tags"]]
    incomplete = [t for t in tagged if any(f["value"] is None for f in t["custom_fields"] if f["id"] in required)]

    assert 780 < len(tagged) < 920
    assert 40 < len(incomplete) < 200
    seat_requests = [
        t
        for t in tagged
        if any(
            f == {"id": sandbox.field_ids["category"], "value": "lec_category_seat_expansion"}
            for f in t["custom_fields"]
        )
    ]
    assert seat_requests, "every category appears in a sample this size"
    assert "lec_category_seat_expansion" in seat_requests[0]["tags"], "tagger values show up as tags"


def test_tickets_have_the_documented_json_shape_over_wsgi():
    sandbox = ZendeskSandbox(tickets=20, seed=1)
    token = normalize_token(sandbox.issue_token(), 0)
    http = Client(sandbox)

    response = http.get(
        f"/api/v2/tickets/{sandbox.ticket_ids()[0]}.json?include=users,organizations",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )

    assert response.status_code == 200
    body = response.get_json()
    ticket = body["ticket"]
    for key in (
        "id",
        "url",
        "subject",
        "description",
        "status",
        "tags",
        "requester_id",
        "organization_id",
        "custom_fields",
        "updated_at",
        "created_at",
        "generated_timestamp",
        "ticket_form_id",
    ):
        assert key in ticket, key
    assert all(set(item) == {"id", "value"} for item in ticket["custom_fields"])
    assert ticket["updated_at"].endswith("Z")
    assert ticket["requester_id"] in {u["id"] for u in body["users"]}
    assert not any(key.startswith("_") for key in ticket)


def test_unauthenticated_calls_are_refused_like_zendesk_does():
    sandbox = ZendeskSandbox(tickets=1)
    http = Client(sandbox)

    bearer = http.get("/api/v2/users/me.json", headers={"Authorization": "Bearer nope"})
    basic = http.get("/api/v2/users/me.json", headers={"Authorization": "Basic bm9wZTpub3Bl"})

    assert (bearer.status_code, bearer.get_json()["error"]) == (401, "invalid_token")
    assert (basic.status_code, basic.get_json()["error"]) == (401, "Couldn't authenticate you")
