"""An admin's communication templates: refused when they fail on trial values, and a decision is refused (not
half-recorded, never a 500) when a template that passed the trials fails on a real request's values."""

from __future__ import annotations

from sqlalchemy import func, select
from support.bodies import entitlement

from connector.db import db
from connector.governance.policy import default_policy_text
from connector.models import AuditEvent, Decision, EntitlementBoundary


def put_policy(client, token_for, text):
    return client.put("/api/v1/policy", data=text, content_type="application/yaml", headers=token_for("admin"))


def test_a_template_that_raises_on_the_trial_values_is_refused(client, token_for):
    for expression in ("{{ 1 // 0 }}", '{{ "%05d" | format(request.customer.account_id) }}',
                       "{{ 10 // (entitlement.grants | length) }}"):  # a denial has no grants
        broken = default_policy_text().replace("{{ request.title }}", expression)
        r = put_policy(client, token_for, broken)
        assert r.status_code == 422, (expression, r.get_json())
        problem = r.get_json()["details"]["fields"]["templates.customer_summary"][0]
        assert problem.split(":")[0] in ("ZeroDivisionError", "TypeError", "UndefinedError"), problem
    assert client.get("/api/v1/policy", headers=token_for("admin")).get_json()["version"] == 1


def test_a_template_failing_on_a_real_request_refuses_the_decision_and_records_nothing(app, client, token_for,
                                                                                       small):
    # passes every trial (their titles are not this long) and divides by zero on the real request's title
    expression = "{{ 10 // ((request.title | length) - " + str(len(small["title"])) + ") }}"
    assert put_policy(client, token_for, default_policy_text().replace("{{ request.title }}", expression)
                      ).status_code == 200
    req = client.post("/api/v1/requests", json=small, headers=token_for("intake")).get_json()
    chair = token_for("reviewer", "licensing")
    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair,
                    json={"outcome": "approved", "rationale": "ok", "entitlement": entitlement()})
    assert r.status_code == 409, r.get_json()
    body = r.get_json()
    assert body["code"] == "policy_template_failed" and "PUT /api/v1/policy" in body["message"]
    assert body["details"]["fields"]["templates.customer_summary"][0].startswith("ZeroDivisionError")
    assert client.get(f"/api/v1/requests/{req['id']}", headers=chair).get_json()["state"] == "in_review"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Decision)) == 0
        assert db.session.scalar(select(func.count()).select_from(EntitlementBoundary)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert put_policy(client, token_for, default_policy_text()).status_code == 200  # the admin fixes it
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair,
                    json={"outcome": "approved", "rationale": "ok", "entitlement": entitlement()})
    assert r.status_code == 201, r.get_json()
