"""The sync progress bar's arithmetic and words: percent, ETA from the rate so far, durations, each state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from connector.models import SyncRun
from connector.sync_runs import eta_seconds, percent
from connector.web import formatting
from connector.web.sync_progress import duration_text, view

START = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def locale() -> object:
    app = Flask(__name__)
    formatting.install(app)
    with app.test_request_context():
        yield


@pytest.mark.parametrize(("seconds", "text"), [(0, "0 s"), (8.4, "8 s"), (59.6, "1 min"), (200, "3 min 20 s"),
                                               (600, "10 min"), (725, "12 min"), (3600, "1 h"), (3900, "1 h 5 min"),
                                               (-5, "0 s")])
def test_durations_read_at_the_precision_that_matters(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_the_eta_is_the_rest_at_the_rate_so_far_counted_from_now() -> None:
    heard = START + timedelta(seconds=10)
    # 2,000 of 10,000 in 10 s: 200 a second, 8,000 left is 40 s from the last page, 37 s from 3 s later
    assert eta_seconds(2000, 10_000, START, heard, heard) == 40.0
    assert eta_seconds(2000, 10_000, START, heard, heard + timedelta(seconds=3)) == 37.0
    assert eta_seconds(2000, 10_000, START, heard, heard + timedelta(minutes=5)) == 0.0  # late, never negative
    assert eta_seconds(12_000, 10_000, START, heard, heard) == 0.0  # the source's total was an estimate
    assert eta_seconds(0, 10_000, START, START, START) is None  # no page yet: no rate
    assert eta_seconds(2000, None, START, heard, heard) is None  # no total: no end


def test_the_bar_is_full_only_when_the_run_says_it_is_done() -> None:
    assert percent(2500, 10_000, "running") == 25.0
    assert percent(10_400, 10_000, "running") == 99.0
    assert percent(3, None, "running") is None
    assert percent(3, None, "completed") == 100.0


def run(**values: object) -> SyncRun:
    base: dict[str, object] = {"id": 7, "state": "running", "trigger": "web", "requested_by": "ada@vendor.example",
                               "requested_at": START, "started_at": START, "finished_at": None,
                               "heartbeat_at": START + timedelta(seconds=10), "attempts": 1, "examined": 2000,
                               "total": 10_000, "counts": {}, "message": None}
    base.update(values)
    return SyncRun(**base)


def test_each_state_in_words() -> None:
    now = START + timedelta(seconds=10)
    running = view(run(), now)
    assert running["words"] == "2,000 of 10,000 records (20%), about 40 s left"
    assert (running["live"], running["percent"], running["eta_seconds"]) == (True, 20.0, 40.0)
    assert view(run(total=None), now)["words"] == "2,000 records so far"
    assert view(run(examined=0), now)["words"] == "0 of 10,000 records (0%), estimating the time left"
    queued = view(run(state="queued", started_at=None, heartbeat_at=None, examined=0, total=None), now)
    assert queued["words"] == "Queued by ada@vendor.example: waiting for a worker to pick it up."
    assert queued["percent"] is None and queued["live"]
    done = view(run(state="completed", finished_at=START + timedelta(seconds=42), examined=30_000, total=30_000,
                    counts={"fetched": 30_000, "created": 12, "updated": 3, "unchanged": 29_985}), now)
    assert done["words"] == ("Done: 30,000 fetched, 12 created, 3 updated, 29,985 unchanged, 0 need information, "
                             "in 42 s.")
    assert (done["live"], done["percent"]) == (False, 100.0)
    stopped = view(run(state="stopped", message="Salesforce refused the token", counts={"fetched": 2}), now)
    assert stopped["words"].startswith("Stopped: Salesforce refused the token (2 fetched, 0 created")
    stale = view(run(), START + timedelta(minutes=6))
    assert not stale["live"] and "the process running it may have stopped" in stale["words"]
