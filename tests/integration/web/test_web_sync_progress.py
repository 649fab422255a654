""""Sync now" in the UI queues a run for a worker; the connections page follows it (bar, total, ETA, outcome)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from integration.salesforce_connector.mock_org import MockOrg, authorize_web, create_connection, sf_record
from sqlalchemy import select, update

from connector import sync, sync_runs, worker
from connector.db import db
from connector.models import AuditEvent, Connection, SyncRun, utcnow


@pytest.fixture
def org() -> Iterator[MockOrg]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield MockOrg(mock)


@pytest.fixture
def connected(client: FlaskClient, token_for: Callable[..., dict[str, str]], org: MockOrg) -> str:
    admin = token_for("admin", name="sf-admin")
    create_connection(client, admin)
    authorize_web(client, admin)
    return "sf"


@pytest.fixture
def web_admin(signed_in: Callable[..., FlaskClient]) -> FlaskClient:
    return signed_in("admin", email="ada@vendor.example")


def press_sync(client: FlaskClient, csrf: Callable[[str], str], name: str = "sf") -> str:
    token = csrf(client.get("/admin/connections").get_data(as_text=True))
    r = client.post(f"/admin/connections/{name}/sync", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"#sync-{name}")
    return client.get("/admin/connections").get_data(as_text=True)


def progress(client: FlaskClient, name: str = "sf") -> dict[str, Any]:
    r = client.get(f"/admin/connections/{name}/sync/progress")
    assert r.status_code == 200
    return dict(r.get_json())


def runs(app: Flask) -> list[SyncRun]:
    with app.app_context():
        found = list(db.session.scalars(select(SyncRun).order_by(SyncRun.id)))
        db.session.expunge_all()
        return found


def conn_id(app: Flask, name: str = "sf") -> int:
    with app.app_context():
        return int(db.session.scalar(select(Connection.id).where(Connection.name == name)))


def test_sync_now_queues_a_run_that_a_worker_runs_with_its_progress_shown(app, web_admin, csrf, org, connected):
    org.page_size = 2
    org.add(*(sf_record(n) for n in range(1, 6)))
    page = press_sync(web_admin, csrf)
    assert "Sync of &#39;sf&#39; queued: a worker runs it now" in page
    assert 'data-live="true"' in page and "waiting for a worker to pick it up" in page
    assert progress(web_admin)["state"] == "queued" and progress(web_admin)["percent"] is None
    assert org.calls["query_all"] == 0  # the page did not wait for the sync

    # A worker takes it and is told to stop after the first page: the run goes back in the queue, with its progress.
    sf = conn_id(app)
    with app.app_context():
        assert sync_runs.connections_with_requests() == [sf]
        assert sync.run_requested(sf, should_stop=lambda: True) == 1
    halfway = progress(web_admin)
    assert (halfway["state"], halfway["examined"], halfway["total"]) == ("queued", 2, 5)
    assert "Queued again: the worker is stopping: 1 page(s) stored" in halfway["words"]

    # The next worker round claims it again and finishes from the watermark.
    with app.app_context():
        worker.run_worker(app, once=True)
    done = progress(web_admin)
    # The second attempt's query starts at the last stored page's SystemModstamp: it holds four (one seen already).
    assert (done["state"], done["live"], done["percent"], done["examined"], done["total"]) == (
        "completed", False, 100.0, 6, 6)
    assert done["words"].startswith("Done: 5 fetched, 5 created, 0 updated, 0 unchanged, 0 need information, in ")
    [run] = runs(app)
    assert (run.trigger, run.requested_by, run.attempts) == ("web", "ada@vendor.example", 1)  # a stop is no failure
    page = web_admin.get("/admin/connections").get_data(as_text=True)
    assert 'data-live="false"' in page and "<progress" in page and " hidden></progress>" in page
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "sync.requested")) \
            == "ada@vendor.example"


def test_pressing_sync_now_twice_runs_one_sync(app, web_admin, csrf, connected):
    press_sync(web_admin, csrf)
    page = press_sync(web_admin, csrf)
    assert "A sync of &#39;sf&#39; is already queued (started by ada@vendor.example)" in page
    assert len(runs(app)) == 1


def test_a_connection_not_yet_authorized_is_not_queued(app, web_admin, csrf, client, token_for):
    create_connection(client, token_for("admin"), name="later")
    page = press_sync(web_admin, csrf, "later")
    assert "Sync of &#39;later&#39; not started: the connection is needs authorization" in page
    assert "Connect it first." in page and runs(app) == []
    assert progress(web_admin, "later") == {"state": None, "live": False, "words": "Never synced."}


def test_a_sync_from_the_api_is_shown_too(app, web_admin, client, token_for, org, connected):
    org.add(*(sf_record(n) for n in range(1, 4)))
    assert client.post("/api/v1/connections/sf/sync", headers=token_for("admin")).status_code == 200
    [run] = runs(app)
    assert (run.trigger, run.state, run.examined, run.total) == ("api", "completed", 3, 3)
    assert "Done: 3 fetched, 3 created" in web_admin.get("/admin/connections").get_data(as_text=True)


def test_a_source_refusal_stops_the_run_with_its_reason(app, web_admin, csrf, org, connected):
    org.page_size = 2
    org.add(*(sf_record(n) for n in range(1, 6)))
    org.after_first_page = org.revoke_refresh_tokens  # an admin revokes the app's tokens mid-backfill
    press_sync(web_admin, csrf)
    with app.app_context():
        worker.run_worker(app, once=True)
    stopped = progress(web_admin)
    assert stopped["state"] == "stopped" and stopped["examined"] == 2
    assert stopped["words"].startswith("Stopped: ") and "authorize the connection again" in stopped["words"]
    assert "2 fetched, 2 created" in stopped["words"]
    assert "class=\"sync-run sync-stopped\"" in web_admin.get("/admin/connections").get_data(as_text=True)


def test_a_run_whose_worker_died_is_taken_up_again_then_given_up(app, web_admin, csrf, org, connected, monkeypatch):
    press_sync(web_admin, csrf)
    sf = conn_id(app)
    with app.app_context():
        monkeypatch.setattr(sync_runs, "owner", lambda: "dead-host:7:0badc0de")  # the worker that will die
        claimed = sync_runs.claim(sf)
        assert claimed is not None and claimed.state == "running" and claimed.claimed_by == "dead-host:7:0badc0de"
        db.session.commit()
        monkeypatch.undo()
        assert sync_runs.claim(sf) is None  # running and heard of: nobody else takes it
    long_ago = utcnow() - sync_runs.STALE_AFTER - timedelta(seconds=1)
    with app.app_context():
        db.session.execute(update(SyncRun).values(heartbeat_at=long_ago))
        db.session.commit()
    assert "the process running it may have stopped" in progress(web_admin)["words"]
    with app.app_context():
        assert sync_runs.connections_with_requests() == [sf]
        again = sync_runs.claim(sf)
        assert again is not None and again.attempts == 2
        db.session.execute(update(SyncRun).values(heartbeat_at=long_ago, attempts=sync_runs.MAX_ATTEMPTS))
        db.session.commit()
        assert sync_runs.claim(sf) is None
    given_up = progress(web_admin)
    assert given_up["state"] == "interrupted" and "Gave up after 3 attempts" in given_up["words"]


def test_finished_runs_are_pruned_after_the_retention(app, client, token_for, org, connected):
    org.add(sf_record(1))
    client.post("/api/v1/connections/sf/sync", headers=token_for("admin"))
    client.post("/api/v1/connections/sf/sync", headers=token_for("admin"))
    with app.app_context():
        first = db.session.scalars(select(SyncRun).order_by(SyncRun.id)).first()
        assert first is not None
        first.requested_at = utcnow() - sync_runs.RETENTION - timedelta(days=1)
        db.session.commit()
        assert worker.run_job("retention", worker.periodic_jobs()["retention"]) == {"events": 0, "sync_runs": 1}
    assert len(runs(app)) == 1


def test_a_queued_sync_waits_while_another_sync_of_the_connection_runs(app, web_admin, csrf, org, connected):
    org.add(sf_record(1))
    sf = conn_id(app)
    with app.app_context():
        other = sync_runs.start(sf, "cli", "cli")  # a CLI sync of the same connection, under way
    press_sync(web_admin, csrf)  # the page shows the sync under way rather than queueing a second
    assert len(runs(app)) == 1 and progress(web_admin)["trigger"] == "cli"
    with app.app_context():
        db.session.add(SyncRun(connection_id=sf, state="queued", trigger="web", requested_by="ada@vendor.example",
                               requested_at=utcnow(), attempts=0, examined=0, counts={}))
        db.session.commit()
        assert sync.run_requested(sf) == 0  # not while the CLI's runs
        assert sync.queue_due() == {"queued": 0}  # nor does the schedule queue a third
        sync_runs.finish(other, "completed", {})
        db.session.commit()
        assert sync.run_requested(sf) == 1
    assert [run.state for run in runs(app)] == ["completed", "completed"]


def test_a_worker_takes_up_its_own_run_when_the_database_was_away(app, web_admin, csrf, org, connected, monkeypatch):
    """A sync that fails while the database is away cannot give its run back: the process remembers it and takes
    it up again at once when the database returns, rather than after the stale-run timeout."""
    org.page_size = 2
    org.add(*(sf_record(n) for n in range(1, 6)))
    press_sync(web_admin, csrf)
    sf = conn_id(app)
    real_progress = sync_runs.progress
    calls = {"n": 0}

    def no_database(*args: Any, **kwargs: Any) -> None:
        raise OSError("no database")

    def database_away(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the second page: the database is gone for the page and for the run's last words
            monkeypatch.setattr(sync_runs, "requeue", no_database)
            no_database()
        real_progress(*args, **kwargs)

    monkeypatch.setattr(sync_runs, "progress", database_away)
    with app.app_context(), pytest.raises(OSError):
        sync.run_requested(sf)
    left = progress(web_admin)
    assert (left["state"], left["examined"], left["live"]) == ("running", 2, True)  # not stale: nobody else takes it
    monkeypatch.undo()  # the database is back
    with app.app_context():
        mine = sync_runs.owner()
        assert db.session.scalar(select(SyncRun.claimed_by)) == mine
        monkeypatch.setattr(sync_runs, "owner", lambda: "other-host:1:00000000")
        assert sync_runs.connections_with_requests() == []  # another worker leaves it be: it is heard of lately
        assert sync_runs.claim(sf) is None
        monkeypatch.undo()
        assert sync_runs.connections_with_requests() == [sf]  # this process goes on with its own at once
        assert sync.run_requested(sf) == 1 and sync_runs.connections_with_requests() == []
    done = progress(web_admin)
    assert (done["state"], done["attempts"]) == ("completed", 2)


def test_a_claim_whose_commit_was_lost_is_taken_up_by_its_own_process(app, web_admin, csrf, org, connected,
                                                                      monkeypatch):
    """The database went away right after the claim's commit reached it: the worker saw an error and cannot know
    whether the run is its own. The row names it, so its lane goes on with it when the database returns, and no
    other worker takes it before it goes stale."""
    org.add(*(sf_record(n) for n in range(1, 4)))
    press_sync(web_admin, csrf)
    sf = conn_id(app)

    def connection_lost(*args: Any, **kwargs: Any) -> None:
        raise OSError("server closed the connection unexpectedly")

    with app.app_context():
        monkeypatch.setattr(sync, "sync", connection_lost)  # the first statement after the claim's commit
        with pytest.raises(OSError):
            sync.run_requested(sf)
        monkeypatch.undo()
        assert db.session.scalar(select(SyncRun.state)) == "running"
        monkeypatch.setattr(sync_runs, "owner", lambda: "other-host:1:00000000")
        assert sync.run_requested(sf) == 0  # another worker: the run is under way as far as it knows
        monkeypatch.undo()
        assert sync.run_requested(sf) == 1
    done = progress(web_admin)
    assert (done["state"], done["attempts"], done["counts"]["created"]) == ("completed", 2, 3)


def test_metrics_show_syncs_waiting_for_a_worker(app, client, web_admin, csrf, connected):
    press_sync(web_admin, csrf)
    with app.app_context():
        asked = db.session.scalar(select(SyncRun.requested_at))
        assert asked is not None
    text = client.get("/metrics").get_data(as_text=True)
    assert 'connector_sync_runs{connection="sf",state="queued"} 1.0' in text
    line = next(line for line in text.splitlines()
                if line.startswith('connector_sync_queued_since_timestamp_seconds{connection="sf"}'))
    assert abs(float(line.split()[-1]) - asked.timestamp()) < 1
    with app.app_context():
        sync.run_requested(conn_id(app))
    text = client.get("/metrics").get_data(as_text=True)
    assert "connector_sync_runs{" not in text and "connector_sync_queued_since_timestamp_seconds{" not in text
