"""The worker-health banner: no worker seen for a minute, or deliveries piling up, said on every signed-in page."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from connector.db import db
from connector.models import Delivery, ExceptionRequest, WorkerHeartbeat, utcnow


def _beat(app, seconds_ago: float) -> None:
    with app.app_context():
        db.session.merge(WorkerHeartbeat(worker="host:1", started_at=utcnow() - timedelta(hours=1),
                                         seen_at=utcnow() - timedelta(seconds=seconds_ago), delivered=0))
        db.session.commit()


def test_banner_when_no_worker_is_seen_for_a_minute_and_when_deliveries_pile_up(app, signed_in, submit, small):
    client = signed_in("admin")
    assert "No worker has ever reported in" in client.get("/requests").get_data(as_text=True)
    _beat(app, 5)
    assert 'data-testid="worker-banner"' not in client.get("/requests").get_data(as_text=True)
    _beat(app, 600)
    assert "No worker has reported in for 10 min" in client.get("/expiring").get_data(as_text=True)
    _beat(app, 1)
    key = submit(small)
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        for n in range(3):
            db.session.add(Delivery(request_pk=req.pk, target="billing", change="decided", message_id=f"m{n}",
                                    payload={}, status="pending", next_attempt_at=utcnow() - timedelta(minutes=20),
                                    deadline=utcnow() + timedelta(days=1)))
        db.session.commit()
    html = client.get("/requests").get_data(as_text=True)
    assert "Deliveries are piling up: 3 due and unsent, the oldest for 20 min." in html
    assert 'href="/admin/deliveries?status=pending">See the deliveries' in html
    assert "piling up" not in app.test_client().get("/sign-in").get_data(as_text=True)
