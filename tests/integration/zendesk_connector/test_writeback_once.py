"""A decision's reply and note reach the ticket exactly once: when later changes follow it unsent, and when the
grant is lost between the reply and the note (a safe update, or the two rounds of a bulk update)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

import responses
import time_machine
from integration.zendesk_connector.test_zendesk_connector_writeback import (
    UPDATE_MANY,
    approve,
    deliveries,
    drain,
    job_statuses,
    ok,
    synced,
)

from connector.models import utcnow

BASE = "https://acme.zendesk.com/api/v2/tickets"


class Tickets:
    """Zendesk's ticket endpoints: every comment posted (by a safe update or ``update_many``) is kept and listed
    back by ``comments.json``; ``revoke_when`` decides, after each write, when the access token stops working."""

    def __init__(self, http: responses.RequestsMock, ids: list[int]) -> None:
        self.posted: list[tuple[int, str, bool]] = []
        self.refused: str | None = None
        self.revoke_when: Callable[[list[dict]], bool] = lambda bodies: False
        self.jobs = job_statuses(http)
        for ticket_id in ids:
            http.add_callback(responses.GET, f"{BASE}/{ticket_id}.json", callback=self.show)
            http.add_callback(responses.PUT, f"{BASE}/{ticket_id}.json", callback=self.update)
            http.add_callback(responses.GET, f"{BASE}/{ticket_id}/comments.json", callback=self.comments)
        http.add_callback(responses.PUT, UPDATE_MANY, callback=self.update_many)

    def of(self, ticket_id: int, public: bool) -> list[str]:
        return [body for tid, body, pub in self.posted if tid == ticket_id and pub is public]

    def _ticket(self, request) -> int:
        return int(re.search(r"/tickets/(\d+)", request.url).group(1))

    def _refuse(self, request):
        if self.refused and request.headers["Authorization"] == f"Bearer {self.refused}":
            return 401, {}, json.dumps({"error": "invalid_token", "error_description": "The access token was revoked"})
        return None

    def _write(self, bodies: list[dict]) -> None:
        for body in bodies:
            if body.get("comment"):
                self.posted.append((body["id"], body["comment"]["body"], body["comment"]["public"]))
        if self.revoke_when(bodies):
            self.refused = "A1"  # the admin revokes the grant right after this write

    def show(self, request):
        ticket = {"id": self._ticket(request), "status": "open", "updated_at": "2026-11-20T10:30:00Z",
                  "tags": ["license_exception"]}
        return self._refuse(request) or (200, {}, json.dumps({"ticket": ticket}))

    def update(self, request):
        refused = self._refuse(request)
        if refused:
            return refused
        body = {**json.loads(request.body)["ticket"], "id": self._ticket(request)}
        self._write([body])
        ticket = {"id": body["id"], "updated_at": "2026-11-20T10:31:00Z",
                  "tags": ["license_exception", *body.get("additional_tags", [])]}
        return 200, {}, json.dumps({"ticket": ticket})

    def update_many(self, request):
        refused = self._refuse(request)
        if refused:
            return refused
        bodies = json.loads(request.body)["tickets"]
        self._write(bodies)
        job_id = f"J{len(self.jobs) + 1}"
        status = {"id": job_id, "url": f"https://acme.zendesk.com/api/v2/job_statuses/{job_id}.json",
                  "job_type": "bulk_update", "total": len(bodies), "progress": None, "status": "queued",
                  "message": None, "results": None}
        self.jobs[job_id] = {**status, "status": "completed", "progress": len(bodies),
                             "results": [ok(b["id"], i) for i, b in enumerate(bodies)]}
        return 200, {}, json.dumps({"job_status": status})

    def comments(self, request):
        ticket_id = self._ticket(request)
        listed = [{"id": n, "type": "Comment", "body": body, "public": public}
                  for n, (tid, body, public) in enumerate(self.posted, 1) if tid == ticket_id]
        return self._refuse(request) or (200, {}, json.dumps({"comments": listed, "next_page": None}))


def current_decision(zd, req):
    return zd.client.get(f"/api/v1/requests/{req['id']}", headers=zd.admin).get_json()["decision"]


def test_a_decision_followed_unsent_by_a_dispute_still_posts_its_reply_and_note_once(connected, chair, app):
    zd = connected
    req = synced(zd, zd.ticket(1001))["1001"]
    tickets = Tickets(zd.http, [1001])
    decision = approve(zd, chair, req)["decision"]
    r = zd.client.post(f"/api/v1/requests/{req['id']}/disputes", headers=chair, json={"reason": "customer objects"})
    assert r.status_code == 201, r.get_json()

    drain(app)

    assert tickets.of(1001, public=True) == [decision["customer_summary"]]
    assert tickets.of(1001, public=False) == [decision["internal_note"]]
    items = zd.client.get("/api/v1/deliveries?limit=200", headers=zd.admin).get_json()["items"]
    assert [(i["change"], i["status"]) for i in reversed(items) if i["change"] != "created"] == [
        ("decided", "delivered"), ("disputed", "delivered")]


def test_each_unsent_decision_posts_its_own_reply_and_note_once(connected, chair, app):
    zd = connected
    req = synced(zd, zd.ticket(1001))["1001"]
    tickets = Tickets(zd.http, [1001])
    first = approve(zd, chair, req)["decision"]
    r = zd.client.post(f"/api/v1/requests/{req['id']}/amend", headers=chair,
                       json={"rationale": "Two more seats.", "entitlement": {**zd.entitlement(),
                                                                             "grants": {"seats": 122}}})
    assert r.status_code in (200, 201), r.get_json()
    second = current_decision(zd, req)
    assert second["customer_summary"] != first["customer_summary"]

    drain(app)

    assert tickets.of(1001, public=True) == [first["customer_summary"], second["customer_summary"]]
    assert tickets.of(1001, public=False) == [first["internal_note"], second["internal_note"]]


def lose_the_grant(zd, tickets, when):
    tickets.revoke_when = when
    return zd.http.post(zd.TOKENS, status=400, json={"error": "invalid_grant", "error_description": "revoked"})


def authorize_again(zd, refused):
    zd.http.remove(refused)
    zd.authorize(access="A2", refresh="R2")


def test_a_grant_lost_between_the_reply_and_the_note_never_posts_the_reply_twice(connected, chair, app):
    zd = connected
    req = synced(zd, zd.ticket(1001))["1001"]
    tickets = Tickets(zd.http, [1001])
    decision = approve(zd, chair, req)["decision"]
    refused = lose_the_grant(zd, tickets, lambda bodies: any(b.get("comment", {}).get("public") for b in bodies))

    drain(app)

    assert tickets.of(1001, public=True) == [decision["customer_summary"]]
    assert tickets.of(1001, public=False) == []
    assert deliveries(zd)[req["key"]]["status"] == "pending"
    authorize_again(zd, refused)
    with time_machine.travel(utcnow() + timedelta(minutes=3)):
        assert drain(app)["delivered"] == 1

    assert tickets.of(1001, public=True) == [decision["customer_summary"]]
    assert tickets.of(1001, public=False) == [decision["internal_note"]]
    assert deliveries(zd)[req["key"]]["status"] == "delivered"


def test_a_grant_lost_between_the_bulk_reply_and_note_rounds_never_posts_the_replies_twice(connected, chair, app):
    zd = connected
    reqs = synced(zd, zd.ticket(1001), zd.ticket(1002))
    tickets = Tickets(zd.http, [1001, 1002])
    decided = {int(eid): approve(zd, chair, req)["decision"] for eid, req in reqs.items()}
    refused = lose_the_grant(zd, tickets, lambda bodies: len(bodies) == 2 and all(
        b.get("comment", {}).get("public") for b in bodies))  # right after the reply round

    drain(app)

    for ticket_id, decision in decided.items():
        assert tickets.of(ticket_id, public=True) == [decision["customer_summary"]]
        assert tickets.of(ticket_id, public=False) == []
    authorize_again(zd, refused)
    with time_machine.travel(utcnow() + timedelta(minutes=3)):
        assert drain(app)["delivered"] == 2

    for ticket_id, decision in decided.items():
        assert tickets.of(ticket_id, public=True) == [decision["customer_summary"]]
        assert tickets.of(ticket_id, public=False) == [decision["internal_note"]]
    assert {d["status"] for d in deliveries(zd).values()} == {"delivered"}


def test_deliveries_held_before_anything_was_written_still_go_out_in_bulk(connected, chair, app):
    from connector import connections
    from connector.db import db
    from connector.models import Connection

    zd = connected
    reqs = synced(zd, zd.ticket(1001), zd.ticket(1002))
    tickets = Tickets(zd.http, [1001, 1002])
    with app.app_context():
        conn_id = db.session.query(Connection.id).scalar()
        db.session.commit()  # set_status writes on its own connection
        connections.set_status(conn_id, "paused", "Zendesk rate limit reached")
        db.session.commit()
    decided = {int(eid): approve(zd, chair, req)["decision"] for eid, req in reqs.items()}
    drain(app)  # held: the connection is paused, nothing is sent
    assert tickets.posted == []
    with app.app_context():
        db.session.commit()
        connections.set_status(conn_id, "connected", None)
        db.session.commit()
    calls = len(zd.http.calls)
    with time_machine.travel(utcnow() + timedelta(minutes=3)):
        assert drain(app)["delivered"] == 2
    urls = [call.request.url for call in zd.http.calls[calls:]]
    assert not any("/comments.json" in url for url in urls)  # nothing was on a ticket: no re-read
    assert sum(UPDATE_MANY in url for url in urls) == 2  # the reply round and the note round, in bulk
    for ticket_id, decision in decided.items():
        assert tickets.of(ticket_id, public=True) == [decision["customer_summary"]]
        assert tickets.of(ticket_id, public=False) == [decision["internal_note"]]
