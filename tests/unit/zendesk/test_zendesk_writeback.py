"""Write-back: safe updates that survive an agent's concurrent edit, tags added never replaced, update_many."""

from __future__ import annotations

import json
from itertools import islice

import pytest
import responses
from responses import matchers

from adapters.tokens import InMemoryTokenStore
from adapters.zendesk.client import ZendeskClient, job_poll_waits, ticket_update_body
from adapters.zendesk.errors import Conflict, RetriableError

BASE = "https://acme.zendesk.com"
TICKET_URL = f"{BASE}/api/v2/tickets/35436.json"
CONFLICT = {
    "error": "UpdateConflict",
    "description": "Safe Update prevented the update due to outdated ticket data. "
    "Please fetch the latest ticket data and try again.",
}


@pytest.fixture
def client(settings, clock, make_token):
    return ZendeskClient(settings, InMemoryTokenStore(make_token()), sleep=clock.sleep, clock=clock)


def shown(updated_at: str, tags: list[str]) -> dict:
    return {"ticket": {"id": 35436, "updated_at": updated_at, "tags": tags, "status": "open"}}


@responses.activate
def test_a_409_is_re_read_and_retried_with_the_new_updated_stamp(client):
    responses.get(TICKET_URL, json=shown("2026-11-20T10:30:00Z", ["license_exception"]))
    responses.get(TICKET_URL, json=shown("2026-11-20T10:31:07Z", ["license_exception", "vip"]))
    sent: list[dict] = []
    answers = [
        (409, CONFLICT),
        (200, {"ticket": {"id": 35436, "updated_at": "2026-11-20T10:32:00Z", "tags": ["a"]}}),
        (200, {"ticket": {"id": 35436, "updated_at": "2026-11-20T10:32:01Z", "tags": ["a"]}}),
    ]

    def put(request):
        sent.append(json.loads(request.body)["ticket"])
        status, body = answers.pop(0)
        return status, {}, json.dumps(body)

    responses.add_callback(responses.PUT, TICKET_URL, callback=put)

    ticket = client.apply_decision_writeback(
        35436,
        public_comment="Your exception is approved until 2027-06-30.",
        private_note="Approved by licensing; risk medium.",
        custom_fields={360010000013: "approved"},
        tags=["license_exception_approved"],
        status="pending",
    )

    assert [body["updated_stamp"] for body in sent] == [
        "2026-11-20T10:30:00Z",
        "2026-11-20T10:31:07Z",
        "2026-11-20T10:32:00Z",
    ]
    assert all(body["safe_update"] is True for body in sent)
    assert sent[1]["comment"] == {"body": "Your exception is approved until 2027-06-30.", "public": True}
    assert sent[1]["custom_fields"] == [{"id": 360010000013, "value": "approved"}]
    assert sent[1]["additional_tags"] == ["license_exception_approved"]
    assert sent[1]["status"] == "pending"
    assert sent[2]["comment"] == {"body": "Approved by licensing; risk medium.", "public": False}
    assert all("tags" not in body for body in sent)
    assert ticket["updated_at"] == "2026-11-20T10:32:01Z"


@responses.activate
def test_a_ticket_that_keeps_changing_raises_conflict_after_bounded_retries(client):
    responses.get(TICKET_URL, json=shown("2026-11-20T10:30:00Z", []))
    put = responses.put(TICKET_URL, status=409, json=CONFLICT)

    with pytest.raises(Conflict):
        client.apply_decision_writeback(35436, public_comment="Decision", max_attempts=3)

    assert put.call_count == 3


@responses.activate
def test_a_lone_private_note_goes_out_in_one_update(client):
    responses.get(TICKET_URL, json=shown("2026-11-20T10:30:00Z", []))
    put = responses.put(
        TICKET_URL,
        json={"ticket": {"id": 35436, "updated_at": "2026-11-20T10:30:05Z"}},
        match=[
            matchers.json_params_matcher(
                {
                    "ticket": {
                        "comment": {"body": "Missing: revenue impact", "public": False},
                        "additional_tags": ["license_exception_needs_info"],
                        "safe_update": True,
                        "updated_stamp": "2026-11-20T10:30:00Z",
                    }
                }
            )
        ],
    )

    client.apply_decision_writeback(
        35436, private_note="Missing: revenue impact", tags=["license_exception_needs_info"]
    )

    assert put.call_count == 1


@responses.activate
def test_add_tags_uses_the_tags_endpoint_that_keeps_existing_tags(client):
    responses.put(
        f"{BASE}/api/v2/tickets/35436/tags.json",
        json={"tags": ["enterprise", "vip", "license_exception_approved"]},
        match=[matchers.json_params_matcher({"tags": ["license_exception_approved"]})],
    )

    tags = client.add_tags(35436, ["license_exception_approved", "license_exception_approved"])

    assert tags == ["enterprise", "vip", "license_exception_approved"]
    assert responses.calls[0].request.method == "PUT"


def test_update_bodies_never_carry_tags():
    body = ticket_update_body(
        comment={"body": "hi", "public": True},
        custom_fields=[{"id": 1, "value": "x"}],
        status="solved",
        additional_tags=["a", "b", "a"],
        updated_stamp="2026-11-20T10:30:00Z",
    )
    assert "tags" not in body
    assert body["additional_tags"] == ["a", "b"]
    assert body["safe_update"] is True


@responses.activate
def test_update_many_chunks_at_100_with_per_ticket_bodies(client):
    received: list[list[dict]] = []

    def respond(request):
        tickets = json.loads(request.body)["tickets"]
        received.append(tickets)
        job = {"id": f"job{len(received)}", "status": "queued", "total": len(tickets)}
        return 200, {}, json.dumps({"job_status": job})

    responses.add_callback(responses.PUT, f"{BASE}/api/v2/tickets/update_many.json", callback=respond)
    updates = [
        {"id": 5000 + i, **ticket_update_body(custom_fields={777: f"LEX-{i}"}, additional_tags=[f"t{i % 2}"])}
        for i in range(250)
    ]

    jobs = client.update_many(updates)

    assert [len(chunk) for chunk in received] == [100, 100, 50]
    assert [job["id"] for job in jobs] == ["job1", "job2", "job3"]
    flat = [item for chunk in received for item in chunk]
    assert [item["id"] for item in flat] == [5000 + i for i in range(250)]
    assert flat[137]["custom_fields"] == [{"id": 777, "value": "LEX-137"}]
    assert flat[137]["additional_tags"] == ["t1"]


def test_update_many_refuses_to_replace_tags(client):
    with pytest.raises(ValueError):
        client.update_many([{"id": 1, "tags": ["only_this"]}])


JOB_STATUSES = f"{BASE}/api/v2/job_statuses/show_many.json"


@responses.activate
def test_apply_updates_polls_jobs_and_reports_every_ticket(client, clock):
    responses.put(
        f"{BASE}/api/v2/tickets/update_many.json",
        json={"job_status": {"id": "8b726e606741012ffc2d782bcb7848fe", "status": "queued"}},
    )
    ids = matchers.query_param_matcher({"ids": "8b726e606741012ffc2d782bcb7848fe"})
    responses.get(
        JOB_STATUSES,
        match=[ids],
        json={"job_statuses": [{"id": "8b726e606741012ffc2d782bcb7848fe", "status": "working"}]},
    )
    responses.get(
        JOB_STATUSES,
        match=[ids],
        json={
            "job_statuses": [
                {
                    "id": "8b726e606741012ffc2d782bcb7848fe",
                    "status": "completed",
                    "results": [
                        {"id": 1, "action": "update", "success": True, "status": "Updated"},
                        {
                            "id": 2,
                            "index": 1,
                            "action": "update",
                            "success": False,
                            "status": "Failed",
                            "error": "UpdateConflict",
                            "details": "Safe Update prevented the update",
                        },
                    ],
                }
            ]
        },
    )

    results = client.apply_updates(
        [{"id": 1, "status": "pending"}, {"id": 2, "status": "pending"}, {"id": 3, "status": "pending"}],
        poll_interval=2.0,
    )

    assert results[1].success and results[1].status == "Updated"
    assert not results[2].success and "UpdateConflict" in (results[2].error or "")
    assert not results[3].success, "a ticket the job never reported is not assumed done"
    assert clock.sleeps == [0.25, 0.5], "a queued job is not asked about at once; then the waits double"


@responses.activate
def test_the_jobs_of_a_round_are_polled_together_one_show_many_call_per_poll(client, clock):
    submitted: list[int] = []

    def update_many(request):
        tickets = json.loads(request.body)["tickets"]
        submitted.append(len(tickets))
        return 200, {}, json.dumps({"job_status": {"id": f"job{len(submitted)}", "status": "queued"}})

    polls: list[list[str]] = []

    def show_many(request):
        asked = request.params["ids"].split(",")
        polls.append(asked)
        statuses = []
        for job_id in asked:
            start = 5000 + 100 * (int(job_id.removeprefix("job")) - 1)
            done = len(polls) >= (2 if job_id == "job2" else 1)  # job2 is still working at the first poll
            results = [{"id": start + i, "index": i, "success": True, "status": "Updated"} for i in range(100)]
            statuses.append({"id": job_id, "status": "completed" if done else "working",
                             "results": results if done else None})
        return 200, {}, json.dumps({"job_statuses": statuses})

    responses.add_callback(responses.PUT, f"{BASE}/api/v2/tickets/update_many.json", callback=update_many)
    responses.add_callback(responses.GET, JOB_STATUSES, callback=show_many)

    results = client.apply_updates([{"id": 5000 + i, "additional_tags": ["x"]} for i in range(250)],
                                   poll_interval=1.5)

    assert submitted == [100, 100, 50]
    assert polls == [["job1", "job2", "job3"], ["job2"]], "one call per poll, only for the jobs still running"
    assert clock.sleeps == [0.25, 0.5]
    assert len(results) == 250 and all(r.success for r in results.values())
    assert not any("/job_statuses/job" in c.request.url for c in responses.calls), "no GET per job"


@responses.activate
def test_a_long_job_is_polled_at_doubling_waits_up_to_the_interval_and_gives_up_at_the_timeout(client, clock):
    polls: list[float] = []

    def show_many(request):
        polls.append(clock.now)
        return 200, {}, json.dumps({"job_statuses": [{"id": "slow", "status": "working"}]})

    responses.add_callback(responses.GET, JOB_STATUSES, callback=show_many)

    with pytest.raises(RetriableError) as raised:
        client.wait_for_jobs(["slow"], poll_interval=2.0, timeout=10.0)

    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0]  # 9.75 s: one more wait would pass the 10 s timeout
    assert len(polls) == 7 and raised.value.code == "job_timeout"


def test_the_poll_schedule_doubles_from_its_first_wait_up_to_the_interval():
    assert list(islice(job_poll_waits(0.25, 2.0), 6)) == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert list(islice(job_poll_waits(5.0, 2.0), 3)) == [2.0, 2.0, 2.0]  # never longer than the interval
    assert list(islice(job_poll_waits(0.0, 1.0), 3)) == [0.0, 1.0, 1.0]  # no first wait: then the interval


@responses.activate
def test_more_than_100_jobs_are_polled_100_ids_a_call(client):
    asked: list[int] = []

    def show_many(request):
        ids = request.params["ids"].split(",")
        asked.append(len(ids))
        return 200, {}, json.dumps({"job_statuses": [{"id": i, "status": "completed", "results": []} for i in ids]})

    responses.add_callback(responses.GET, JOB_STATUSES, callback=show_many)

    finished = client.wait_for_jobs([f"j{n}" for n in range(150)])

    assert asked == [100, 50] and len(finished) == 150
