"""The audit page filtered by action, actor, request and period, subjects shown as request keys with links, and
the filtered range exported as CSV or JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

from connector import audit
from connector.db import db


def test_audit_filters_link_subjects_to_their_requests_and_export_the_range(app, signed_in, submit, small, large):
    key, other = submit(small), submit(large)
    with app.app_context():
        audit.append("worker", "sync.completed", "connection:crm", {"records": 5})
        db.session.commit()
    auditor = signed_in("auditor")
    html = auditor.get(f"/audit?request={key}").get_data(as_text=True)
    assert f'<a href="/requests/{key}">{key}</a>' in html and f">{other}<" not in html
    assert "sync.completed" in auditor.get("/audit").get_data(as_text=True)
    assert "<td>sync.completed</td>" not in auditor.get("/audit?hide_routine=1").get_data(as_text=True)
    html = auditor.get("/audit?action=sync.").get_data(as_text=True)
    assert "<td>sync.completed</td>" in html and "<td>request.created</td>" not in html
    assert "<td>worker</td>" in auditor.get("/audit?actor=worker").get_data(as_text=True)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert "No event matches these filters." in auditor.get(f"/audit?start={tomorrow}").get_data(as_text=True)
    assert auditor.get("/audit?start=yesterday").status_code == 400
    assert auditor.get(f"/audit?start={tomorrow}&end={date.today()}").status_code == 400

    r = auditor.get(f"/audit/export?format=csv&request={key}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert f'filename="audit-{key}.csv"' in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert rows and {row["request_key"] for row in rows} == {key}
    assert [int(row["seq"]) for row in rows] == sorted(int(row["seq"]) for row in rows)
    r = auditor.get("/audit/export?format=jsonl&action=sync.completed")
    lines = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    assert [line["action"] for line in lines] == ["sync.completed"] and lines[0]["data"] == {"records": 5}
    assert auditor.get("/audit/export?format=xml").status_code == 400
    assert signed_in("intake").get("/audit/export").status_code == 403
