"""Write-back to Zendesk: the reply and the note in safe updates, the agent's tags kept, bulk updates, 409 and 429."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import responses
import time_machine

from connector import delivery
from connector.models import utcnow

TICKET = "https://acme.zendesk.com/api/v2/tickets/1001.json"
UPDATE_MANY = "https://acme.zendesk.com/api/v2/tickets/update_many.json"
JOB_STATUSES = "https://acme.zendesk.com/api/v2/job_statuses/show_many.json"
CONFLICT = {"error": "UpdateConflict", "description": "Safe Update prevented the update due to outdated ticket "
            "data. Please fetch the latest ticket data and try again."}


def drain(app):
    with app.app_context():
        return delivery.drain()


def deliveries(zd):
    """The newest write-back delivery per request key."""
    items = zd.client.get("/api/v1/deliveries?limit=200", headers=zd.admin).get_json()["items"]
    newest: dict[str, dict] = {}
    for item in items:
        if item["target"] == "connection:zd":
            newest.setdefault(item["request_key"], item)
    return newest


def shown(updated_at, tags):
    return {"ticket": {"id": 1001, "status": "open", "updated_at": updated_at, "tags": tags}}


def synced(zd, *tickets):
    zd.http.get(zd.EXPORT, json=zd.export_body(list(tickets), "c1", True))
    zd.sync()
    return {r["external_id"]: r for r in zd.requests()}


def approve(zd, chair, req):
    r = zd.client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair,
                       json={"outcome": "approved", "rationale": "Fits the renewal plan.",
                             "entitlement": zd.entitlement()})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def job(http, job_id, results, first="queued"):
    """``update_many`` answers with a job status; polling it (``show_many``) gives the per-ticket results."""
    status = {"id": job_id, "url": f"https://acme.zendesk.com/api/v2/job_statuses/{job_id}.json",
              "job_type": "bulk_update", "total": len(results), "progress": None, "status": first,
              "message": None, "results": None}
    put = http.put(UPDATE_MANY, json={"job_status": status})
    job_statuses(http)[job_id] = {**status, "status": "completed", "progress": len(results),
                                  "message": "Completed at 2026-11-20T10:31:00+00:00", "results": results}
    return put


def job_statuses(http):
    """The jobs ``GET /api/v2/job_statuses/show_many.json?ids=a,b`` knows (registered once per mock)."""
    known = getattr(http, "zendesk_jobs", None)
    if known is None:
        known = http.zendesk_jobs = {}

        def show_many(request):
            ids = parse_qs(urlsplit(request.url).query)["ids"][0].split(",")
            return 200, {}, json.dumps({"job_statuses": [known[i] for i in ids if i in known]})

        http.zendesk_job_polls = http.add_callback(responses.GET, JOB_STATUSES, callback=show_many)
    return known


def ok(ticket_id, index):
    return {"id": ticket_id, "index": index, "action": "update", "success": True, "status": "Updated"}


def test_a_decision_posts_the_reply_then_the_note_as_safe_updates_keeping_the_agents_tags(connected, chair, app):
    zd = connected
    req = synced(zd, zd.ticket(1001, tags=("license_exception", "vip")))["1001"]
    decided = approve(zd, chair, req)
    agent_tags = ["license_exception", "vip", "license_exception_in_review"]
    zd.http.get(TICKET, json=shown("2026-11-20T10:30:00Z", agent_tags))
    sent: list[dict] = []
    updated = ["2026-11-20T10:31:00Z", "2026-11-20T10:31:01Z"]

    def put(request):
        sent.append(json.loads(request.body)["ticket"])
        tags = [*agent_tags, "license_exception_approved"]
        return 200, {}, json.dumps({"ticket": {"id": 1001, "updated_at": updated.pop(0), "tags": tags}})

    zd.http.add_callback(responses.PUT, TICKET, callback=put)
    bulk = job(zd.http, "J-stale", [ok(1001, 0)], first="completed")

    assert drain(app)["delivered"] == 1

    reply, note = sent
    assert reply["safe_update"] is True and reply["updated_stamp"] == "2026-11-20T10:30:00Z"
    assert reply["comment"] == {"body": decided["decision"]["customer_summary"], "public": True}
    assert reply["additional_tags"] == ["license_exception_approved"] and "status" not in reply
    fields = {f["id"]: f["value"] for f in reply["custom_fields"]}
    assert fields[zd.FIELD_IDS["governance_key"]] == req["key"]
    assert fields[zd.FIELD_IDS["governance_status"]] == "approved"
    assert fields[zd.FIELD_IDS["decision"]] == "approved"
    assert fields[zd.FIELD_IDS["entitlement_expires"]] == zd.entitlement()["expires_at"]
    assert note == {"comment": {"body": decided["decision"]["internal_note"], "public": False},
                    "safe_update": True, "updated_stamp": "2026-11-20T10:31:00Z"}
    [cleanup] = json.loads(bulk.calls[0].request.body)["tickets"]
    assert cleanup == {"id": 1001, "remove_tags": ["license_exception_in_review"]}  # only the connector's own
    assert all("tags" not in body for body in [*sent, cleanup])
    assert deliveries(zd)[req["key"]]["status"] == "delivered"


def test_a_409_is_re_read_and_the_change_re_applied_on_the_new_stamp(connected, chair, app):
    zd = connected
    req = synced(zd, zd.ticket(1001))["1001"]
    approve(zd, chair, req)
    zd.http.get(TICKET, json=shown("2026-11-20T10:30:00Z", ["license_exception"]))
    zd.http.get(TICKET, json=shown("2026-11-20T10:30:42Z", ["license_exception", "agent_was_here"]))
    stamps: list[str] = []
    answers = [(409, CONFLICT), (200, shown("2026-11-20T10:31:00Z", ["license_exception"])),
               (200, shown("2026-11-20T10:31:01Z", ["license_exception"]))]

    def put(request):
        stamps.append(json.loads(request.body)["ticket"]["updated_stamp"])
        status, body = answers.pop(0)
        return status, {}, json.dumps(body)

    zd.http.add_callback(responses.PUT, TICKET, callback=put)

    assert drain(app)["delivered"] == 1
    assert stamps == ["2026-11-20T10:30:00Z", "2026-11-20T10:30:42Z", "2026-11-20T10:31:00Z"]


def test_field_and_tag_changes_go_out_in_bulk_but_a_status_change_is_a_safe_update(zd, app):
    """Tags added and the connector's own fields cannot clobber an agent's edit, so they go out in one
    ``update_many``; the ticket status belongs to the agents, so a change that sets it is a ``safe_update`` on the
    ``updated_at`` just read (re-read and re-applied on 409)."""
    zd.create(status_by_state={"needs_info": "pending"})
    zd.authorize()
    incomplete = {**zd.COMPLETE, "revenue_impact": None, "data_sensitivity": None}
    reqs = synced(zd, zd.ticket(1001), zd.ticket(1004, values=incomplete), zd.ticket(1006, status="closed"))
    failed = {"id": 1006, "index": 1, "action": "update", "success": False, "status": "Failed",
              "error": "RecordInvalid", "details": "Status: closed prevents ticket update"}
    put = job(zd.http, "J-1", [ok(1001, 0), failed])
    one = "https://acme.zendesk.com/api/v2/tickets/1004.json"
    zd.http.get(one, json={"ticket": {"id": 1004, "status": "open", "updated_at": "2026-11-20T10:30:00Z",
                                      "tags": ["license_exception"]}})
    zd.http.get(one, json={"ticket": {"id": 1004, "status": "hold", "updated_at": "2026-11-20T10:30:42Z",
                                      "tags": ["license_exception"]}})  # the agent put it on hold meanwhile
    single: list[dict] = []
    answers = [(409, CONFLICT), (200, {"ticket": {"id": 1004, "updated_at": "2026-11-20T10:31:00Z",
                                                  "tags": ["license_exception", "license_exception_needs_info"]}})]

    def put_one(request):
        single.append(json.loads(request.body)["ticket"])
        status, body = answers.pop(0)
        return status, {}, json.dumps(body)

    zd.http.add_callback(responses.PUT, one, callback=put_one)

    counts = drain(app)

    assert counts["delivered"] == 2 and counts["dead"] == 1
    assert len(put.calls) == 1
    bodies = {b["id"]: b for b in json.loads(put.calls[0].request.body)["tickets"]}
    assert set(bodies) == {1001, 1006}, "a body that sets the status never goes out in bulk"
    assert bodies[1001]["additional_tags"] == ["license_exception_in_review"] and "comment" not in bodies[1001]
    assert all("status" not in b and "tags" not in b and "safe_update" not in b for b in bodies.values())
    first, again = single
    assert [first["updated_stamp"], again["updated_stamp"]] == ["2026-11-20T10:30:00Z", "2026-11-20T10:30:42Z"]
    for body in (first, again):
        assert body["safe_update"] is True and body["status"] == "pending" and "tags" not in body
        assert body["additional_tags"] == ["license_exception_needs_info"]
        comment = body["comment"]
        assert comment["public"] is True and reqs["1004"]["key"] in comment["body"]
        assert "revenue_impact.amount" in comment["body"] and "data_sensitivity" in comment["body"]
        assert {f["id"]: f["value"] for f in body["custom_fields"]}[zd.FIELD_IDS["governance_status"]] == \
            "needs_info"
    states = {key: d["status"] for key, d in deliveries(zd).items()}
    assert states == {reqs["1001"]["key"]: "delivered", reqs["1004"]["key"]: "delivered",
                      reqs["1006"]["key"]: "dead"}
    assert "closed prevents" in deliveries(zd)[reqs["1006"]["key"]]["last_error"]


def test_a_429_is_retried_only_after_retry_after_and_a_retry_never_posts_the_comment_twice(connected, app):
    zd = connected
    incomplete = {**zd.COMPLETE, "revenue_impact": None}
    with time_machine.travel(utcnow(), tick=False) as clock:
        req = synced(zd, zd.ticket(1004, values=incomplete))["1004"]
        zd.http.put(UPDATE_MANY, status=429, headers={"Retry-After": "90"},
                    json={"error": "APIRateLimitExceeded", "description": "Rate limit for this account exceeded"})

        drain(app)

        [row] = deliveries(zd).values()
        assert row["status"] == "pending" and row["last_status_code"] == 429
        assert datetime.fromisoformat(row["next_attempt_at"]) >= utcnow() + timedelta(seconds=90)
        calls = len(zd.http.calls)
        clock.shift(60)
        drain(app)
        assert len(zd.http.calls) == calls  # not before Retry-After

        clock.shift(31)
        zd.http.remove(responses.PUT, UPDATE_MANY)
        posted = {"id": 370000000001, "type": "Comment", "author_id": 360000000001, "public": True,
                  "body": f"License exception request {req['key']} cannot be reviewed yet.\n\n"
                          f"{_summary(req)}.\n\nPlease update the ticket with the missing details; "
                          "review starts as soon as they are complete.", "created_at": "2026-11-20T10:31:00Z"}
        comments = zd.http.get("https://acme.zendesk.com/api/v2/tickets/1004/comments.json",
                               json={"comments": [posted], "next_page": None, "previous_page": None, "count": 1})
        put = job(zd.http, "J-2", [ok(1004, 0)], first="completed")

        assert drain(app)["delivered"] == 1

    assert len(comments.calls) == 1
    [body] = json.loads(put.calls[0].request.body)["tickets"]
    assert "comment" not in body and body["additional_tags"] == ["license_exception_needs_info"]


def _summary(req):
    from mappings import summarize_intake

    return summarize_intake(req["intake"])


def test_an_end_of_exception_posts_its_own_notice_not_the_old_approval(connected, chair, app):
    zd = connected
    req = synced(zd, zd.ticket(1001))["1001"]
    decided = approve(zd, chair, req)
    zd.http.get(TICKET, json=shown("2026-11-20T10:30:00Z", ["license_exception"]))
    sent: list[dict] = []

    def put(request):
        sent.append(json.loads(request.body)["ticket"])
        return 200, {}, json.dumps(shown("2026-11-20T10:31:00Z", ["license_exception"]))

    zd.http.add_callback(responses.PUT, TICKET, callback=put)
    drain(app)
    r = zd.client.post(f"/api/v1/requests/{req['id']}/revoke", headers=chair, json={"reason": "Breach of terms"})
    assert r.status_code in (200, 201), r.get_json()

    drain(app)

    reply, note = sent[2:]
    assert "was revoked" in reply["comment"]["body"] and reply["comment"]["public"] is True
    assert reply["comment"]["body"] != decided["decision"]["customer_summary"]
    assert reply["additional_tags"] == ["license_exception_revoked"]
    assert note["comment"]["public"] is False and req["key"] in note["comment"]["body"]


def test_an_expired_grant_holds_write_back_and_asks_for_authorization(connected, chair, app):
    zd = connected
    req = synced(zd, zd.ticket(1001))["1001"]
    approve(zd, chair, req)
    zd.http.get(TICKET, status=401, json={"error": "invalid_token", "error_description": "expired"})
    zd.http.post(zd.TOKENS, status=400, json={"error": "invalid_grant", "error_description": "revoked"})

    counts = drain(app)

    assert counts["held"] == 1
    view = zd.client.get("/api/v1/connections/zd", headers=zd.admin).get_json()
    assert view["status"] == "needs_authorization"
    assert deliveries(zd)[req["key"]]["status"] == "pending"


def test_several_decisions_go_out_in_two_bulk_rounds_and_a_failed_reply_holds_back_its_note(connected, chair, app):
    zd = connected
    reqs = synced(zd, zd.ticket(1001), zd.ticket(1002))
    decided = {eid: approve(zd, chair, req) for eid, req in reqs.items()}
    failed = {"id": 1002, "index": 1, "action": "update", "success": False, "status": "Failed",
              "error": "TicketLocked", "details": "The ticket is being merged"}
    replies = job(zd.http, "J-reply", [ok(1001, 0), failed])
    notes = job(zd.http, "J-note", [ok(1001, 0)])
    zd.http.put(TICKET, status=500)  # no single-ticket update may happen

    counts = drain(app)

    assert counts["delivered"] == 1 and counts["retry"] == 1
    reply_bodies = {b["id"]: b for b in json.loads(replies.calls[0].request.body)["tickets"]}
    assert set(reply_bodies) == {1001, 1002}
    first = reply_bodies[1001]
    assert first["comment"] == {"body": decided["1001"]["decision"]["customer_summary"], "public": True}
    assert first["additional_tags"] == ["license_exception_approved"]
    assert {f["id"]: f["value"] for f in first["custom_fields"]}[zd.FIELD_IDS["decision"]] == "approved"
    note_bodies = [json.loads(c.request.body)["tickets"] for c in notes.calls if c is not replies.calls[0]]
    sent_notes = [b for bodies in note_bodies for b in bodies if b.get("comment", {}).get("public") is False]
    assert sent_notes == [{"id": 1001, "comment": {"body": decided["1001"]["decision"]["internal_note"],
                                                   "public": False}}]
    assert all("tags" not in b and "safe_update" not in b for b in reply_bodies.values())
    states = {key: d["status"] for key, d in deliveries(zd).items()}
    assert states[decided["1001"]["key"]] == "delivered" and states[decided["1002"]["key"]] == "pending"
    assert "TicketLocked" in deliveries(zd)[decided["1002"]["key"]]["last_error"]
