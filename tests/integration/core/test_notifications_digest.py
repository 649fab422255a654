"""The daily digest: a person who chose it gets their pending notifications in ONE message a day, from
``CONNECTOR_DIGEST_HOUR`` (UTC), however often the job runs and whichever worker runs it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from support.notifications import SLACK, notices, set_preferences

from connector import notifications, worker
from connector.db import db
from connector.models import NotificationDigest, NotificationItem, Principal

MORNING = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def app_overrides():
    return {"CONNECTOR_DIGEST_HOUR": "8"}


def create(client, token_for, body, title):
    r = client.post("/api/v1/requests", json={**body, "title": title}, headers=token_for("intake"))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def digests(app):
    return [d for d in notices(app) if d.change == "notify.digest"]


def run(app):
    with app.app_context():
        return worker.run_job("digests", notifications.run_digests)


def test_one_digest_per_person_per_day(app, client, token_for, large):
    dee = token_for("reviewer", "sales", name="dee")
    set_preferences(client, dee, channels=["slack"], events=["routed"], mode="digest", webhooks={"slack": SLACK})
    with time_machine.travel(MORNING, tick=False) as clock:
        first = create(client, token_for, large, "First")
        second = create(client, token_for, large, "Second")
        assert notices(app) == []  # nothing at once: two items wait for the digest
        assert run(app) == {"digests": 0, "items": 0}  # before 08:00 UTC
        clock.move_to(datetime(2026, 12, 7, 8, 5, tzinfo=UTC))
        assert run(app) == {"digests": 1, "items": 2}
        assert run(app) == {"digests": 0, "items": 0}  # the job again: nothing more
        [digest] = digests(app)
        blocks = digest.payload["blocks"]
        assert digest.payload["text"] == "Your license exception digest for 2026-12-07: 2 notifications"
        assert [b["type"] for b in blocks] == ["header", "section", "section"]
        assert first["key"] in blocks[1]["text"]["text"] and second["key"] in blocks[2]["text"]["text"]
        clock.move_to(datetime(2026, 12, 7, 10, 0, tzinfo=UTC))
        third = create(client, token_for, large, "Third")
        clock.move_to(datetime(2026, 12, 7, 23, 59, tzinfo=UTC))
        assert run(app) == {"digests": 0, "items": 0}  # today's digest went out: the third waits
        assert len(digests(app)) == 1
        clock.move_to(datetime(2026, 12, 8, 8, 0, tzinfo=UTC))
        assert run(app) == {"digests": 1, "items": 1}
        assert run(app) == {"digests": 0, "items": 0}
    later = digests(app)
    assert len(later) == 2 and third["key"] in later[1].payload["blocks"][1]["text"]["text"]
    with app.app_context():
        assert db.session.query(NotificationItem).filter(NotificationItem.digest_id.is_(None)).count() == 0


def test_a_second_worker_that_finds_todays_digest_sends_nothing(app, client, token_for, large):
    """Two workers: the one that inserts (person, day) second is refused by the unique key and sends nothing."""
    dee = token_for("reviewer", "sales", name="dee")
    set_preferences(client, dee, channels=["slack"], events=["routed"], mode="digest", webhooks={"slack": SLACK})
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), tick=False):
        create(client, token_for, large, "First")
        with app.app_context():
            principal = db.session.query(Principal).filter_by(name="dee").one()
            db.session.add(NotificationDigest(principal_id=principal.id, day=MORNING.date(), items=0))
            db.session.commit()
        assert run(app) == {"digests": 0, "items": 0}
    assert digests(app) == []


def test_immediate_people_get_no_digest(app, client, token_for, large):
    sam = token_for("reviewer", "sales", name="sam")
    set_preferences(client, sam, channels=["slack"], events=["routed"], webhooks={"slack": SLACK})
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), tick=False):
        create(client, token_for, large, "First")
        assert run(app) == {"digests": 0, "items": 0}
    assert [d.change for d in notices(app)] == ["notify.routed"]
