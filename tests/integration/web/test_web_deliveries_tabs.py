"""The deliveries page: tabs with their counts, each target's health, the tab that needs attention first, and no
"(HTTP 200)" under a success."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from connector.db import db
from connector.models import Delivery, ExceptionRequest, utcnow


def _add(app, key: str, **rows: dict) -> None:
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        now = utcnow()
        for message_id, values in rows.items():
            db.session.add(Delivery(request_pk=req.pk, message_id=message_id, change="decided", payload={},
                                    deadline=now + timedelta(days=1), **values))
        db.session.commit()


def test_tabs_count_targets_show_health_and_the_page_opens_where_attention_is_needed(app, signed_in, submit,
                                                                                    small):
    key = submit(small)
    admin = signed_in("admin")
    assert 'aria-current="page">All' in admin.get("/admin/deliveries").get_data(as_text=True)  # nothing at all
    now = utcnow()
    _add(app, key, ok1={"target": "billing", "status": "delivered", "attempts": 1, "delivered_at": now,
                        "last_status_code": 200, "last_error": None},
         wait1={"target": "connection:crm", "status": "pending", "created_at": now - timedelta(minutes=12)})
    html = admin.get("/admin/deliveries").get_data(as_text=True)
    assert 'aria-current="page">Pending' in html  # no dead ones: the waiting ones
    assert "connection:crm</code>: 1 waiting, oldest 12 min" in html
    assert "billing</code>: last delivered 0 min ago" in html
    html = admin.get("/admin/deliveries?status=delivered").get_data(as_text=True)
    assert "(HTTP 200)" not in html
    _add(app, key, dead1={"target": "billing", "status": "dead", "attempts": 7, "last_error": "503 from billing",
                          "last_status_code": 503})
    html = admin.get("/admin/deliveries").get_data(as_text=True)
    assert 'aria-current="page">Dead' in html and "(HTTP 503)" in html
    for tab, count in (("Dead", 1), ("Pending", 1), ("Delivered", 1), ("All", 3)):
        assert f'{tab}<span class="count"><span class="sr-only">: </span>{count}</span>' in html
    assert '<li class="bad"><code>billing</code>: 1 dead' in html
