"""A Zendesk backfill learns how many tickets it will go through (``tickets/count``, or ``search/count`` from
``backfill_start``), so its progress bar has an end; without an answer the sync runs as before, unhindered."""

from __future__ import annotations

import logging
import time
from typing import Any

import click
import pytest
from responses import matchers
from sqlalchemy import select

from connector.db import db
from connector.models import SyncRun
from connector.sync import SyncCounts, examined

TICKETS_COUNT = "https://acme.zendesk.com/api/v2/tickets/count"
SEARCH_COUNT = "https://acme.zendesk.com/api/v2/search/count"


def two_pages(zd: Any, start_time: int = 0) -> None:
    """Four tickets in two export pages, one of them not a license exception (skipped, yet examined)."""
    unflagged = zd.ticket(1002, tags=("billing",), values={}, subject="Invoice shows the wrong VAT number")
    zd.http.get(zd.EXPORT, match=[matchers.query_param_matcher({"cursor": "c1"}, strict_match=False)],
                json=zd.export_body([zd.ticket(1003), zd.ticket(1004)], "c2", True))
    zd.http.get(zd.EXPORT, match=[matchers.query_param_matcher({"start_time": str(start_time)}, strict_match=False)],
                json=zd.export_body([zd.ticket(1001), unflagged], "c1", False))


def test_a_backfill_from_the_beginning_carries_the_account_ticket_count(connected, app):
    zd = connected
    count = zd.http.get(TICKETS_COUNT, json={"count": {"value": 4, "refreshed_at": "2026-11-20T10:00:00Z"}})
    two_pages(zd)

    result = zd.sync()

    assert result["fetched"] == 3 and result["detail"]["skipped_not_flagged"] == 1
    assert result["detail"]["total"] == 4 == examined(SyncCounts(fetched=3, detail=result["detail"]))
    assert count.call_count == 1 and result["http_calls"] == 3  # the count, then two export pages
    assert zd.export_calls()[0]["start_time"] == ["0"]
    with app.app_context():  # the run the connections page's bar follows: 4 of 4
        run = db.session.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()
        assert run is not None and (run.state, run.examined, run.total) == ("completed", 4, 4)

    zd.http.get(zd.EXPORT, match=[matchers.query_param_matcher({"cursor": "c2"}, strict_match=False)],
                json=zd.export_body([zd.ticket(1001, subject="Northwind needs 150 seats")], "c3", True))
    incremental = zd.sync()

    assert incremental["updated"] == 1 and "total" not in incremental["detail"]  # from the cursor: no total
    assert count.call_count == 1


def test_a_backfill_from_a_date_counts_the_tickets_updated_since(zd):
    zd.create(backfill_start="2026-01-31T10:00:00Z")
    zd.authorize()
    search = zd.http.get(SEARCH_COUNT, json={"count": 4}, match=[
        matchers.query_param_matcher({"query": "type:ticket updated>=2026-01-31T10:00:00Z"})])
    two_pages(zd, start_time=1769853600)  # 2026-01-31T10:00:00Z

    result = zd.sync()

    assert result["fetched"] == 3 and result["detail"]["total"] == 4 and search.call_count == 1


@pytest.mark.parametrize(("status", "headers", "body"), [
    (429, {"Retry-After": "30"}, {"error": "APIRateLimitExceeded", "description": "Rate limit exceeded"}),
    (403, {}, {"error": "Forbidden", "description": "You do not have access to this page."}),
    (500, {}, {"error": "InternalError", "description": "Something went wrong"}),
    (None, {}, {}),  # nothing registered: Zendesk unreachable
])
def test_without_a_count_the_sync_runs_as_before_and_says_why_in_the_log(connected, caplog, status, headers, body):
    zd = connected
    count = zd.http.get(TICKETS_COUNT, status=status, headers=headers, json=body) if status else None
    two_pages(zd)

    with caplog.at_level(logging.INFO, logger="connector.sources.zendesk.read"):
        started = time.monotonic()
        result = zd.sync()
        elapsed = time.monotonic() - started

    assert result["stopped"] is None and result["created"] == 3 and result["needs_info"] == 0
    assert "total" not in result["detail"]
    assert count is None or count.call_count == 1  # asked once, never retried
    assert elapsed < 10  # a 429's Retry-After of 30 s was not waited for
    [line] = [r.getMessage() for r in caplog.records if "ticket count" in r.getMessage()]
    assert "without a total" in line and "A1" not in line and zd.CLIENT_SECRET not in line


def test_the_cli_progress_bar_measures_against_the_ticket_count(connected, app, monkeypatch):
    zd = connected
    zd.http.get(TICKETS_COUNT, json={"count": {"value": 4, "refreshed_at": "2026-11-20T10:00:00Z"}})
    two_pages(zd)
    bars: list[Any] = []
    progressbar = click.progressbar

    def recorded(*args: Any, **kwargs: Any) -> Any:
        bars.append(progressbar(*args, **kwargs))
        return bars[-1]

    monkeypatch.setattr(click, "progressbar", recorded)
    result = app.test_cli_runner().invoke(args=["connector", "sync", "zd"])

    assert result.exit_code == 0, result.output
    assert "zd: fetched 3, created 3" in result.output
    [bar] = bars
    assert (bar.pos, bar.length) == (4, 4) and bar.format_pos() == "4/4"
