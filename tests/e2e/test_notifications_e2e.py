"""A committee notification reaches a local Slack-compatible receiver through the real worker: the receiver
refuses the first attempt (503, Retry-After: 1) and accepts the retry."""

from __future__ import annotations

import copy
import threading

from sqlalchemy import select
from support.bodies import LARGE
from support.notifications import SlackReceiver, notices, set_preferences
from support.servers import serve

from connector.db import db
from connector.models import AuditEvent
from connector.worker import run_worker


def test_notification_reaches_a_slack_receiver_with_a_retry(app, client, token_for):
    receiver = SlackReceiver(fail_first=1)
    with serve(receiver) as base:
        hook = f"{base}/services/T000/B000/localHOOK"
        sam = token_for("reviewer", "sales", name="sam")
        set_preferences(client, sam, channels=["slack"], events=["routed"], webhooks={"slack": hook})
        req = client.post("/api/v1/requests", json=copy.deepcopy(LARGE), headers=token_for("intake")).get_json()
        stop = threading.Event()
        loop = threading.Thread(target=run_worker, args=(app,), kwargs={"stop": stop, "poll": 0.1,
                                                                          "job_interval": 3600.0}, daemon=True)
        loop.start()
        try:
            assert receiver.delivered.wait(20), "the receiver never accepted the notification"
        finally:
            stop.set()
            loop.join(10)
    assert receiver.attempts == 2
    [accepted] = receiver.accepted
    assert req["key"] in accepted["text"] and accepted["blocks"][0]["type"] == "section"
    [row] = notices(app)
    assert (row.status, row.attempts, row.target.split(":")[0]) == ("delivered", 2, "slack")
    with app.app_context():
        attempts = [e.data for e in db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "delivery.attempted"))]
    assert [(a["result"], a["status_code"]) for a in attempts] == [("retry", 503), ("delivered", 200)]
    assert "localHOOK" not in str(attempts)
