""""Sync now" in a real browser: the click queues a run, a worker (running beside the app) syncs 5,000 records from
the Salesforce sandbox, and the connections page's bar follows it to the end with the total and an ETA, without
a reload; checked by axe-core at 1280 and 390 px while running and when done."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import update

from adapters.salesforce.sandbox import SalesforceSandbox
from connector import worker
from connector.config import reconfigure
from connector.db import db
from connector.models import Connection, utcnow

pytestmark = pytest.mark.e2e
RECORDS = 5000  # three pages of Salesforce's 2,000
#: the run's bar and words at the moment they show a page stored and the run still going, or null
RUNNING = """() => {
    const box = document.querySelector("[data-testid=sync-run]");
    const words = box && box.querySelector(".sync-words").textContent;
    const bar = box && box.querySelector("progress");
    return words && /of 5,000 records \\(\\d+%\\)/.test(words) ? {words, value: bar.value, hidden: bar.hidden} : null;
}"""


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    org = SalesforceSandbox(records=RECORDS, seed=11)
    org.serve()
    yield org
    org.shutdown()


@pytest.fixture
def app_overrides(sandbox: SalesforceSandbox) -> dict[str, Any]:
    return {"CONNECTOR_ALLOWED_INSTANCE_HOSTS": urlsplit(sandbox.base_url).netloc}


@contextmanager
def worker_running(app: Any) -> Iterator[None]:
    """A worker beside the app (in a thread, as the demo runs one), from here to the end of the block."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, args=(app,), kwargs={"stop": stop, "job_interval": 3600},
                              daemon=True)
    thread.start()
    try:
        yield
    finally:  # a failed assertion too: a worker left running would go on sending in the next tests of this process
        stop.set()
        thread.join(30)


def connect(base_url: str, token: dict[str, str], sandbox: SalesforceSandbox) -> None:
    api = f"{base_url}/api/v1"
    r = requests.post(f"{api}/connections", headers=token, timeout=30, json={
        "name": "sf", "kind": "salesforce", "settings": {
            "login_url": sandbox.base_url, "client_id": sandbox.client_id, "client_secret": sandbox.client_secret}})
    assert r.status_code == 201, r.text
    to_salesforce = requests.get(f"{api}/connections/sf/authorize", headers=token, allow_redirects=False, timeout=30)
    done = requests.get(to_salesforce.headers["Location"], timeout=30)
    assert done.status_code == 200 and done.json()["status"] == "connected", done.text


def keep_the_schedule_away(app: Any) -> None:
    """The worker's schedule would queue a first sync of the new connection itself (whenever its first round comes):
    mark it synced a moment ago. Nothing was read (no watermark), so Sync now still reads every record."""
    with app.app_context():
        db.session.execute(update(Connection).values(last_sync_at=utcnow()))
        db.session.commit()


def test_sync_now_shows_a_bar_with_the_total_and_an_eta_until_done(app, page, base_url, account, sign_in, token_for,
                                                                  sandbox, check):
    reconfigure(app, CONNECTOR_BASE_URL=base_url)
    connect(base_url, token_for("admin"), sandbox)
    keep_the_schedule_away(app)
    sandbox.add_latency(2.0, times=2, kinds=["query_more"])  # each later page takes a moment: the bar is seen moving
    with worker_running(app):  # started once the schedule has nothing to do
        sign_in(page, account("ada.admin@vendor.example", "admin"))
        page.goto(f"{base_url}/admin/connections")
        page.get_by_role("button", name="Sync now sf").click()
        page.get_by_role("status").filter(has_text="Sync of 'sf' queued").wait_for()

        run = page.get_by_test_id("sync-run")
        words = run.locator(".sync-words")
        bar = page.get_by_role("progressbar", name="Sync of sf")
        # a page stored (of the 5,000 Salesforce's totalSize announced) while the run goes on: the bar and its words
        # as the page showed them at that moment (the run may end a moment later). Usually the first or second page,
        # fetched 2 s apart; on a loaded machine the page's poll can miss both and see the last one stored before the
        # run's end is recorded, which a running bar shows at 99%, never 100%
        seen = page.wait_for_function(RUNNING, timeout=20_000).json_value()
        assert not seen["hidden"] and 0 < seen["value"] < 100, seen
        assert re.fullmatch(r"[245],000 of 5,000 records \(\d+%\), (about \d+ s left|estimating the time left)",
                            seen["words"]), seen
        check("connections-sync-running")

        page.wait_for_function("() => document.querySelector('[data-testid=sync-run] .sync-words').textContent"
                               ".startsWith('Done:')", timeout=60_000)
        assert words.inner_text().startswith("Done: 5,000 fetched, 5,000 created, 0 updated")
        assert bar.is_hidden() and run.get_attribute("data-live") == "false"
        assert run.locator(".sync-announce").inner_text().startswith("Done: 5,000 fetched")  # told to screen readers
        assert sandbox.calls["query_all"] == 1 and sandbox.calls["query_more"] == 2
        check("connections-sync-done")
