"""Finding requests: search by key, customer, title and requester; every API filter; sorting; the expiry column;
money, numbers and labels formatted in the one locale."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from connector.db import db
from connector.models import EntitlementBoundary, ExceptionRequest, utcnow


def keys(html: str) -> list[str]:
    return re.findall(r'<td><a href="/requests/(LEX-\d+)">', html)


def _set(app, key: str, **values) -> None:
    with app.app_context():
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
        for name, value in values.items():
            setattr(req, name, value)
        db.session.commit()


def test_search_matches_key_customer_title_and_requester(app, signed_in, submit, small, large):
    a = submit({**small, "title": "Seats for the pilot", "customer": {**small["customer"], "name": "Acme GmbH"},
                "requester": {**small["requester"], "name": "Rita Requester"}})
    b = submit(large)
    client = signed_in("auditor")
    assert keys(client.get("/requests?q=acme").get_data(as_text=True)) == [a]
    assert keys(client.get("/requests?q=PILOT").get_data(as_text=True)) == [a]
    assert keys(client.get("/requests?q=rita requester").get_data(as_text=True)) == [a]
    assert keys(client.get(f"/requests?q={b.lower()}").get_data(as_text=True)) == [b]
    assert keys(client.get("/requests?q=100%25").get_data(as_text=True)) == []  # % is a character, not a wildcard
    assert "No request matches these filters." in client.get("/requests?q=nobody").get_data(as_text=True)


def test_every_api_filter_and_an_unknown_value_is_a_400(app, signed_in, submit, small, large):
    fast, critical = submit(small), submit(large)
    _set(app, critical, due_at=utcnow() - timedelta(hours=3))
    client = signed_in("reviewer", "legal")
    assert keys(client.get("/requests?track=fast").get_data(as_text=True)) == [fast]
    assert keys(client.get("/requests?band=critical").get_data(as_text=True)) == [critical]
    assert keys(client.get("/requests?overdue=yes").get_data(as_text=True)) == [critical]
    assert keys(client.get("/requests?overdue=no").get_data(as_text=True)) == [fast]
    assert sorted(keys(client.get("/requests?source=api&state=in_review").get_data(as_text=True))) == sorted(
        [fast, critical])
    assert keys(client.get("/requests?source=zendesk").get_data(as_text=True)) == []  # any registered kind
    r = client.get("/requests?band=enormous")
    assert r.status_code == 400 and "Unknown band &#39;enormous&#39;" in r.get_data(as_text=True)
    assert client.get("/requests?sort=sideways").status_code == 400
    html = client.get("/requests").get_data(as_text=True)
    for name in ("q", "state", "band", "track", "category", "source", "overdue", "sort"):
        assert f'name="{name}"' in html


def test_sorting_by_due_risk_and_expiry_with_an_expiry_column(app, signed_in, submit, small, large):
    first, second, third = submit(small), submit(large), submit(small)
    _set(app, first, due_at=utcnow() + timedelta(days=3))
    _set(app, second, due_at=utcnow() + timedelta(days=1))
    _set(app, third, due_at=utcnow() + timedelta(days=2))
    client = signed_in("admin")
    assert keys(client.get("/requests?sort=due").get_data(as_text=True)) == [second, third, first]
    assert keys(client.get("/requests?sort=risk").get_data(as_text=True))[0] == second
    with app.app_context():
        for key, expiry in ((first, date(2027, 2, 9)), (third, date(2027, 1, 10))):
            req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.key == key))
            db.session.add(EntitlementBoundary(request_pk=req.pk, version=1, change="approved", status="active",
                                               grants={"seats": 1}, effective_from=date.today(),
                                               expires_at=expiry, created_by="t"))
        db.session.commit()
    html = client.get("/requests?sort=expiry").get_data(as_text=True)
    assert keys(html) == [third, first, second]
    assert "Jan 10, 2027" in html and "<th scope=\"col\">Expires</th>" in html


def test_money_and_labels_read_the_same_for_every_source(app, signed_in, submit, small):
    body = {**small, "revenue_impact": {"amount": "4800000.0", "currency": "USD"},
            "customer": {**small["customer"], "segment": "Mid-Market"}}
    key = submit(body)
    html = signed_in("auditor").get(f"/requests/{key}").get_data(as_text=True)
    assert "$4,800,000.00" in html and "Acme GmbH · Mid market ·" in html
