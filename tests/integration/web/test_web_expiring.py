"""Exceptions ending soon: the Expiring view (notice window, 30/60/90 days), the chart of expiries by month on
the metrics page, and the governance gauges on /metrics."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from connector.db import db
from connector.models import EntitlementBoundary, ExceptionRequest, utcnow


def _approve(app, key: str, days_left: int, notice_days: int = 30) -> None:
    """An approved exception whose version 1 ends ``days_left`` days from today."""
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        req.state, req.outcome = "approved", "approved"
        db.session.add(EntitlementBoundary(request_pk=req.pk, version=1, change="approved", status="active",
                                           grants={"seats": 105}, effective_from=date.today() - timedelta(days=30),
                                           expires_at=date.today() + timedelta(days=days_left),
                                           notice_days=notice_days, created_by="t"))
        db.session.commit()


def test_expiring_view_lists_exceptions_in_their_notice_window_and_in_30_60_90_days(app, signed_in, submit, small):
    soon, later, far, past_notice = submit(small), submit(small), submit(small), submit(small)
    _approve(app, soon, 5)
    _approve(app, later, 45)
    _approve(app, far, 200)
    _approve(app, past_notice, 50, notice_days=60)  # its own notice window is longer than the default
    client = signed_in("reviewer", "licensing")
    html = client.get("/expiring").get_data(as_text=True)
    assert re.findall(r'href="/requests/(LEX-\d+)"', html) == [soon, past_notice]
    assert "in 5 days" in html and "seats: 105" in html
    assert re.findall(r'href="/requests/(LEX-\d+)"', client.get("/expiring?within=30").get_data(as_text=True)) == [
        soon]
    assert re.findall(r'href="/requests/(LEX-\d+)"', client.get("/expiring?within=60").get_data(as_text=True)) == [
        soon, later, past_notice]
    assert client.get("/expiring?within=7").status_code == 400
    assert 'href="/expiring"' in html  # in the navigation


def test_metrics_page_charts_expiries_by_month(app, signed_in, submit, small):
    _approve(app, submit(small), 5)
    html = signed_in("admin").get("/reports").get_data(as_text=True)
    assert "Expiries by month" in html and 'class="bar s-expiring"' in html
    this_month = date.today().strftime("%Y-%m")
    next_month = (date.today() + timedelta(days=5)).strftime("%Y-%m")
    assert f"<td>{next_month}</td><td>1</td>" in html and f"<td>{this_month}</td>" in html


def test_metrics_gauges_count_states_overdue_and_expiring(app, submit, small, large):
    overdue = submit(large)
    _approve(app, submit(small), 20)
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == overdue))
        req.due_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'connector_exceptions{state="approved"} 1.0' in text
    assert 'connector_exceptions{state="in_review"} 1.0' in text
    assert 'connector_exceptions{state="withdrawn"} 0.0' in text
    assert "connector_overdue_requests 1.0" in text
    assert 'connector_expiring_exceptions{within_days="7"} 0.0' in text
    assert 'connector_expiring_exceptions{within_days="30"} 1.0' in text
    assert 'connector_expiring_exceptions{within_days="90"} 1.0' in text
