"""An agent disputes a decision by tagging the ticket: review reopens once, and the write-back clears the tag."""

from __future__ import annotations

from connector.sources import WriteBackItem
from connector.sources.zendesk.read import DISPUTE_TAG
from connector.sources.zendesk.writeback import plan_ticket_change


def sync_tickets(zd, *tickets, cursor="c1"):
    zd.http.get(zd.EXPORT, json=zd.export_body(list(tickets), cursor, True))
    return zd.sync()


def test_a_dispute_tag_reopens_review_once_and_is_cleared_by_the_write_back(connected, chair, app):
    zd = connected
    sync_tickets(zd, zd.ticket(1001))
    [req] = zd.requests()
    r = zd.client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair,
                       json={"outcome": "approved", "rationale": "Fits the plan.", "entitlement": zd.entitlement()})
    assert r.status_code == 201, r.get_json()

    tagged = zd.ticket(1001, tags=("license_exception", DISPUTE_TAG), updated_at="2026-11-21T08:00:00Z")
    counts = sync_tickets(zd, tagged, cursor="c2")
    assert counts["disputed"] == 1
    view = zd.client.get(f"/api/v1/requests/{req['id']}", headers=zd.admin).get_json()
    assert view["state"] == "in_review" and view["disputes"] == 1 and view["review_round"] == 2
    history = zd.client.get(f"/api/v1/requests/{req['id']}/history", headers=zd.admin).get_json()["items"]
    disputed = [e for e in history if e["action"] == "request.disputed"]
    assert len(disputed) == 1 and disputed[0]["data"]["channel"] == "zendesk"

    again = sync_tickets(zd, {**tagged, "updated_at": "2026-11-21T09:00:00Z"}, cursor="c3")
    assert again["disputed"] == 0  # already back in review: the same tag does not count twice

    plan = plan_ticket_change(WriteBackItem("disputed", view), None, {"tag": "license_exception"})
    assert DISPUTE_TAG in plan.remove_tags and "license_exception" not in plan.remove_tags


def test_a_dispute_tag_on_an_undecided_request_changes_nothing(connected, app):
    zd = connected
    counts = sync_tickets(zd, zd.ticket(1002, tags=("license_exception", DISPUTE_TAG)))
    assert counts["disputed"] == 0 and counts["created"] == 1
    [req] = zd.requests()
    assert req["disputes"] == 0
