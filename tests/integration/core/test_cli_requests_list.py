"""``connector requests list``: the Requests page's search, filters and sorting from a terminal; a table, or the
API's JSON; a refused filter named by its option (exit 1)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from connector.db import db
from connector.models import ExceptionRequest, utcnow


def run(app, *args):
    return app.test_cli_runner().invoke(args=["connector", "requests", "list", *args])


def listed_keys(output: str) -> list[str]:
    return [line.split()[0] for line in output.splitlines() if line.startswith("LEX-")]


def overdue(app, key: str) -> None:
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        req.due_at = utcnow() - timedelta(hours=3)
        db.session.commit()


def test_a_table_of_the_newest_first_with_its_columns(app, submit, small, large):
    first = submit({**small, "title": "Seats for the pilot", "customer": {**small["customer"], "name": "Acme GmbH"}})
    second = submit(large)
    result = run(app)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["key", "state", "track", "band", "due", "expires", "customer", "title"]
    assert listed_keys(result.output) == [second, first]
    row = next(line for line in lines if line.startswith(first))
    assert "in review" in row and "fast" in row and "Acme GmbH" in row and "Seats for the pilot" in row
    assert lines[-1] == "2 requests"
    at = lines[0].index("track")  # every row's track starts under its header: the columns are aligned
    assert all(line[at - 1] == " " and line[at:].split()[0] in ("track", "fast", "standard") for line in lines[:-1])


def test_search_filters_sort_and_limit(app, submit, small, large):
    fast = submit({**small, "requester": {**small["requester"], "name": "Rita Requester"}})
    critical = submit(large)
    overdue(app, critical)
    assert listed_keys(run(app, "--search", "rita requester").output) == [fast]
    assert listed_keys(run(app, "-q", critical.lower()).output) == [critical]
    assert listed_keys(run(app, "--band", "critical").output) == [critical]
    assert listed_keys(run(app, "--track", "fast").output) == [fast]
    shown = run(app, "--overdue").output
    assert listed_keys(shown) == [critical] and "(overdue)" in shown
    assert listed_keys(run(app, "--not-overdue").output) == [fast]
    assert listed_keys(run(app, "--sort", "risk").output) == [critical, fast]
    assert listed_keys(run(app, "--source", "zendesk").output) == []
    assert run(app, "--source", "zendesk").output.strip() == "no requests match"
    limited = run(app, "--limit", "1")
    assert listed_keys(limited.output) == [critical] and "more match (raise --limit)" in limited.output


def test_json_is_the_apis_answer_for_each_request(app, client, token_for, submit, small):
    key = submit(small)
    result = run(app, "--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)
    api = client.get("/api/v1/requests", headers=token_for("auditor")).get_json()["items"]
    assert [item["key"] for item in items] == [key]
    assert items == api


def test_a_refused_filter_is_named_by_its_option_and_exits_1(app, submit, small):
    submit(small)
    result = run(app, "--state", "pending", "--sort", "sideways")
    assert result.exit_code == 1, result.output
    assert "error: These filters cannot be used; nothing was listed." in result.output
    assert "--state: Unknown state 'pending'. Use one of:" in result.output
    assert "--sort: Unknown sort 'sideways'. Use one of: newest, due, risk, expiry." in result.output
    assert "LEX-" not in result.output
    assert run(app, "--limit", "0").exit_code == 2  # a number click cannot accept: usage
