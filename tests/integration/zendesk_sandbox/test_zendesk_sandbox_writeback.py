"""Write-back against the sandbox: reply, note, fields, tags, status; agent races; bulk updates; faults."""

from __future__ import annotations

import pytest

from adapters.zendesk.client import ticket_update_body
from adapters.zendesk.errors import Conflict, FatalError, RetriableError


def exception_ticket(sandbox) -> int:
    return next(t for t in sandbox.ticket_ids() if "license_exception" in sandbox.ticket(t)["tags"])


def test_a_decision_shows_up_on_the_ticket(make_sandbox, connect):
    sandbox = make_sandbox(tickets=40, seed=2)
    client = connect(sandbox)
    ticket_id = exception_ticket(sandbox)
    tags_before = sandbox.ticket(ticket_id)["tags"]
    fields = sandbox.field_ids

    client.apply_decision_writeback(
        ticket_id,
        public_comment="Good news: 150 seats are approved until 2027-06-30.",
        private_note="LEX-1042 approved by licensing. Risk band: medium.",
        custom_fields={
            fields["governance_key"]: "LEX-1042",
            fields["governance_status"]: "approved",
            fields["decision"]: "approved_with_conditions",
            fields["entitlement_expires"]: "2027-06-30",
        },
        tags=["license_exception_approved"],
        status="pending",
    )

    ticket = sandbox.ticket(ticket_id)
    comments = client.comments(ticket_id)
    assert [(c["public"], c["body"]) for c in comments[-2:]] == [
        (True, "Good news: 150 seats are approved until 2027-06-30."),
        (False, "LEX-1042 approved by licensing. Risk band: medium."),
    ]
    assert sandbox.custom_field_value(ticket_id, "governance_key") == "LEX-1042"
    assert sandbox.custom_field_value(ticket_id, "decision") == "approved_with_conditions"
    assert sandbox.custom_field_value(ticket_id, "entitlement_expires") == "2027-06-30"
    assert ticket["status"] == "pending"
    assert set(tags_before) <= set(ticket["tags"])
    assert "license_exception_approved" in ticket["tags"]


def test_an_agents_concurrent_edit_survives_the_write_back(make_sandbox, connect):
    sandbox = make_sandbox(tickets=20, seed=4)
    client = connect(sandbox)
    ticket_id = exception_ticket(sandbox)
    sandbox.edit_before_next_update(
        ticket_id, add_tags=["vip_customer"], custom_fields={"justification": "Edited by the agent"}
    )

    client.apply_decision_writeback(
        ticket_id,
        public_comment="Your request is approved.",
        custom_fields={sandbox.field_ids["governance_status"]: "approved"},
        tags=["license_exception_approved"],
    )

    ticket = sandbox.ticket(ticket_id)
    assert {"vip_customer", "license_exception_approved"} <= set(ticket["tags"])
    assert sandbox.custom_field_value(ticket_id, "justification") == "Edited by the agent"
    assert sandbox.custom_field_value(ticket_id, "governance_status") == "approved"
    assert [c["body"] for c in client.comments(ticket_id)].count("Your request is approved.") == 1


def test_a_stale_updated_stamp_is_refused_by_the_sandbox(make_sandbox, connect):
    sandbox = make_sandbox(tickets=5)
    client = connect(sandbox)
    ticket_id = sandbox.ticket_ids()[0]
    stamp = sandbox.ticket(ticket_id)["updated_at"]
    sandbox.agent_edit(ticket_id, comment="Agent note")

    with pytest.raises(Conflict):
        client.request("PUT", f"/api/v2/tickets/{ticket_id}.json",
                       json={"ticket": ticket_update_body(status="open", updated_stamp=stamp)})


def test_add_tags_keeps_the_agents_tags(make_sandbox, connect):
    sandbox = make_sandbox(tickets=5)
    client = connect(sandbox)
    ticket_id = sandbox.ticket_ids()[0]
    sandbox.agent_edit(ticket_id, add_tags=["agent_tag"])

    tags = client.add_tags(ticket_id, ["license_exception_in_review"])

    assert {"agent_tag", "license_exception_in_review"} <= set(tags)
    assert sandbox.ticket(ticket_id)["tags"] == tags


def test_invalid_field_values_are_refused_without_partial_writes(make_sandbox, connect):
    sandbox = make_sandbox(tickets=5)
    client = connect(sandbox)
    ticket_id = sandbox.ticket_ids()[0]
    before = sandbox.ticket(ticket_id)

    with pytest.raises(FatalError) as caught:
        client.request("PUT", f"/api/v2/tickets/{ticket_id}.json", json={"ticket": ticket_update_body(
            comment={"body": "should not land", "public": True},
            custom_fields={sandbox.field_ids["category"]: "not_an_option"},
        )})

    assert caught.value.status == 422
    assert sandbox.ticket(ticket_id) == before
    assert "should not land" not in [c["body"] for c in client.comments(ticket_id)]


def test_bulk_updates_report_each_ticket(make_sandbox, connect):
    sandbox = make_sandbox(tickets=230, seed=8)
    client = connect(sandbox, sleep=lambda seconds: None)
    ids = sandbox.ticket_ids()[:205]
    stale = sandbox.ticket(ids[3])["updated_at"]
    sandbox.agent_edit(ids[3], comment="moved on")
    updates = [
        {
            "id": ticket_id,
            **ticket_update_body(
                custom_fields={sandbox.field_ids["governance_key"]: f"LEX-{n}"},
                additional_tags=["license_exception_synced"],
            ),
        }
        for n, ticket_id in enumerate(ids)
    ]
    updates[3].update(safe_update=True, updated_stamp=stale)
    updates.append({"id": 999_999, "status": "open"})

    results = client.apply_updates(updates, poll_interval=0.01)

    assert len(results) == 206
    failed = sorted(ticket_id for ticket_id, result in results.items() if not result.success)
    assert failed == [ids[3], 999_999]
    assert "UpdateConflict" in (results[ids[3]].error or "")
    assert sandbox.custom_field_value(ids[150], "governance_key") == "LEX-150"
    assert "license_exception_synced" in sandbox.ticket(ids[204])["tags"]
    assert [m for m, path in sandbox.request_log if path.endswith("update_many.json")] == ["PUT"] * 3


def test_job_statuses_show_many_answers_in_the_documented_shape(make_sandbox, connect):
    sandbox = make_sandbox(tickets=230, seed=9, job_polls_before_complete=1)
    client = connect(sandbox, sleep=lambda seconds: None)
    ids = sandbox.ticket_ids()[:150]
    jobs = client.update_many([{"id": i, **ticket_update_body(additional_tags=["lec_bulk"])} for i in ids])
    job_ids = [str(job["id"]) for job in jobs]
    assert [job["status"] for job in jobs] == ["queued", "queued"]

    first = client.request("GET", "/api/v2/job_statuses/show_many.json", params={"ids": ",".join(job_ids)})
    second = client.request("GET", "/api/v2/job_statuses/show_many", params={"ids": ",".join([*job_ids, "nope"])})

    assert list(first) == ["job_statuses"]
    assert [s["id"] for s in first["job_statuses"]] == job_ids
    assert {s["status"] for s in first["job_statuses"]} == {"working"} and first["job_statuses"][0]["results"] is None
    done = second["job_statuses"]
    assert [s["id"] for s in done] == job_ids, "unknown ids are left out"
    assert {"id", "url", "job_type", "total", "progress", "status", "message", "results"} <= set(done[0])
    assert [s["status"] for s in done] == ["completed", "completed"] and [s["total"] for s in done] == [100, 50]
    assert done[0]["url"] == f"{sandbox.base_url}/api/v2/job_statuses/{job_ids[0]}.json"
    assert [r["id"] for r in done[1]["results"]] == ids[100:] and all(r["success"] for r in done[1]["results"])
    with pytest.raises(FatalError) as missing:
        client.request("GET", "/api/v2/job_statuses/show_many.json")
    assert missing.value.status == 400
    too_many = ",".join(f"j{n}" for n in range(101))
    with pytest.raises(FatalError):
        client.request("GET", "/api/v2/job_statuses/show_many.json", params={"ids": too_many})


def test_a_bulk_round_is_polled_with_one_show_many_call_per_poll(make_sandbox, connect):
    sandbox = make_sandbox(tickets=230, seed=10, job_polls_before_complete=1)
    client = connect(sandbox, sleep=lambda seconds: None)
    for count in (205, 80):  # three jobs, then one
        ids = sandbox.ticket_ids()[:count]
        sandbox.request_log.clear()

        results = client.apply_updates([{"id": i, **ticket_update_body(additional_tags=["lec_bulk"])} for i in ids],
                                       poll_interval=0.01)

        assert len(results) == count and all(r.success for r in results.values())
        polls = [path for method, path in sandbox.request_log if "job_statuses" in path]
        assert polls == ["/api/v2/job_statuses/show_many.json"] * 2, "working at the first poll, then completed"


def test_injected_faults_reach_the_client_as_typed_errors(make_sandbox, connect):
    sandbox = make_sandbox(tickets=5)
    naps: list[float] = []
    client = connect(sandbox, sleep=naps.append)
    ticket_id = sandbox.ticket_ids()[0]

    sandbox.inject_fault(429, retry_after=3, path="/tickets/")
    assert client.get_ticket(ticket_id)["id"] == ticket_id
    assert naps == [3.0]

    sandbox.inject_fault(503, path="/tickets/")
    with pytest.raises(RetriableError):
        client.get_ticket(ticket_id)
    assert client.get_ticket(ticket_id)["requester"]["id"]


def test_a_job_runs_for_job_seconds_and_the_client_polls_at_doubling_waits_until_it_is_done(make_sandbox, connect):
    now = [1_800_000_000.0]
    sandbox = make_sandbox(tickets=120, seed=11, job_polls_before_complete=0, job_seconds=0.5,
                           clock=lambda: now[0])
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds

    client = connect(sandbox, sleep=sleep, clock=lambda: now[0])
    ids = sandbox.ticket_ids()[:120]
    (first, second) = client.update_many([{"id": i, **ticket_update_body(additional_tags=["lec_t"])} for i in ids])
    job_ids = f"{first['id']},{second['id']}"
    early = client.request("GET", "/api/v2/job_statuses/show_many.json", params={"ids": job_ids})
    assert {s["status"] for s in early["job_statuses"]} == {"working"}, "still running before job_seconds"

    sandbox.request_log.clear()
    results = client.apply_updates([{"id": i, **ticket_update_body(additional_tags=["lec_u"])} for i in ids],
                                   poll_interval=1.0)

    assert len(results) == 120 and all(r.success for r in results.values())
    assert [p for _, p in sandbox.request_log if "job_statuses" in p] == ["/api/v2/job_statuses/show_many.json"] * 2
    assert naps == [0.25, 0.5]  # working at 0.25 s, done at 0.75 s (the job takes 0.5 s)
