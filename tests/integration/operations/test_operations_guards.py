"""Operations: a token on /metrics, dead workers' heartbeats pruned, an access log without OAuth codes, and
no-op amendments or renewals refused."""

from __future__ import annotations

import logging
import runpy
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from sqlalchemy import func, select
from support.bodies import SMALL, entitlement

from connector import audit, worker
from connector.access_log import RedactingAccessLogger
from connector.config import reconfigure
from connector.db import db
from connector.models import AuditEvent, Decision, Delivery, EntitlementBoundary, WorkerHeartbeat, utcnow

GUNICORN_CONF = Path(__file__).resolve().parents[3] / "gunicorn.conf.py"
BILLING = "https://billing.example/terms"


@pytest.fixture
def app_overrides():
    return {"CONNECTOR_BILLING_WEBHOOK_URL": BILLING,
            "CONNECTOR_BILLING_WEBHOOK_SECRET": "whsec_bWV0cmljcy10ZXN0LXNlY3JldA=="}


# --- /metrics ----------------------------------------------------------------------------------------------------

def test_metrics_need_the_exact_bearer_token_when_one_is_set(app, client):
    assert client.get("/metrics").status_code == 200  # no token configured: open, as before
    reconfigure(app, CONNECTOR_METRICS_TOKEN="scrape-me")
    for headers in ({}, {"Authorization": "Bearer scrape-m"}, {"Authorization": "Bearer scrape-me2"},
                    {"Authorization": "scrape-me"}, {"Authorization": "Basic c2NyYXBlLW1l"},
                    {"Authorization": "Bearer sçrape-me"}):
        r = client.get("/metrics", headers=headers)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        assert b"connector_" not in r.data
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200 and b"connector_audit_head_seq" in ok.data


# --- heartbeats --------------------------------------------------------------------------------------------------

def test_heartbeats_of_workers_unseen_for_a_day_are_pruned(app, client):
    now = utcnow()
    with app.app_context():
        db.session.add_all([
            WorkerHeartbeat(worker="gone:1", started_at=now - timedelta(days=3), seen_at=now - timedelta(days=2),
                            delivered=5),
            WorkerHeartbeat(worker="quiet:2", started_at=now - timedelta(hours=30),
                            seen_at=now - timedelta(hours=23), delivered=1)])
        db.session.commit()
    assert 'worker="gone:1"' in client.get("/metrics").get_data(as_text=True)
    worker.run_worker(app, once=True)
    with app.app_context():
        names = set(db.session.scalars(select(WorkerHeartbeat.worker)))
    assert "gone:1" not in names and "quiet:2" in names and len(names) == 2  # and this process's own
    text = client.get("/metrics").get_data(as_text=True)
    assert 'worker="gone:1"' not in text and 'worker="quiet:2"' in text


# --- gunicorn ----------------------------------------------------------------------------------------------------

def gunicorn_config(monkeypatch: pytest.MonkeyPatch, **environ: str) -> Config:
    """The shipped gunicorn.conf.py, loaded as gunicorn loads a config file."""
    for key in ("WEB_CONCURRENCY", "GUNICORN_BIND", "PORT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    cfg = Config()
    for key, value in runpy.run_path(str(GUNICORN_CONF)).items():
        if key in cfg.settings:
            cfg.set(key, value)
    return cfg


def access_line(cfg: Config, uri: str, referer: str = "-") -> str:
    logger = cfg.logger_class(cfg)
    lines: list[str] = []
    capture = logging.Handler()
    capture.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger.access_log.addHandler(capture)
    try:
        path, _, query = uri.partition("?")
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": uri, "PATH_INFO": path, "QUERY_STRING": query,
                   "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.9", "HTTP_REFERER": referer,
                   "HTTP_USER_AGENT": "browser"}
        request = SimpleNamespace(headers=[("Referer", referer)])
        response = SimpleNamespace(status="302 FOUND", sent=0, headers=[("Location", "/ui/")])
        logger.access(response, request, environ, timedelta(milliseconds=12))
    finally:
        logger.access_log.removeHandler(capture)
    assert len(lines) == 1
    return lines[0]


def test_the_shipped_gunicorn_config(monkeypatch):
    cfg = gunicorn_config(monkeypatch)
    assert cfg.bind == ["0.0.0.0:8000"] and 1 <= cfg.workers <= 8
    assert cfg.accesslog == "-" and cfg.logger_class is RedactingAccessLogger
    tuned = gunicorn_config(monkeypatch, WEB_CONCURRENCY="3", PORT="9001")
    assert tuned.workers == 3 and tuned.bind == ["0.0.0.0:9001"]


def test_the_access_log_redacts_oauth_codes_and_states(monkeypatch):
    cfg = gunicorn_config(monkeypatch)
    line = access_line(cfg, "/oauth/callback?code=aPrx-CODE-123&state=STATE.xyz&scope=api",
                       referer="https://login.example/authorize?x=1&state=STATE.xyz&code=aPrx-CODE-123")
    assert "aPrx-CODE-123" not in line and "STATE.xyz" not in line
    assert '"GET /oauth/callback?code=[redacted]&state=[redacted]&scope=api HTTP/1.1" 302' in line
    assert "203.0.113.9" in line and "ms" in line
    for key in ("q", "f", "{raw_uri}e", "{query_string}e", "{referer}i"):
        cfg.set("access_log_format", f"%({key})s")
        assert "CODE-123" not in access_line(cfg, "/oauth/callback?code=aPrx-CODE-123",
                                             referer="https://x.example/?code=aPrx-CODE-123")
    cfg.set("access_log_format", "%(r)s")
    plain = access_line(cfg, "/api/v1/requests?barcode=7&postcode=AB1&after=9")
    assert plain == "GET /api/v1/requests?barcode=7&postcode=AB1&after=9 HTTP/1.1"


def test_the_readme_deploys_with_the_shipped_config():
    readme = (GUNICORN_CONF.parent / "README.md").read_text()
    assert "gunicorn -c gunicorn.conf.py 'connector:create_app()'" in readme  # works from the wheel too


# --- no-op amendments and renewals --------------------------------------------------------------------------------

def written(app) -> dict[str, int]:
    with app.app_context():
        return {"versions": db.session.scalar(select(func.count()).select_from(EntitlementBoundary)),
                "decisions": db.session.scalar(select(func.count()).select_from(Decision)),
                "deliveries": db.session.scalar(select(func.count()).select_from(Delivery)),
                "audit": db.session.scalar(select(func.max(AuditEvent.seq))),
                "chain_ok": int(audit.verify().ok)}


@pytest.fixture
def approved(client, token_for):
    chair = token_for("reviewer", "licensing")
    req = client.post("/api/v1/requests", json=dict(SMALL), headers=token_for("intake")).get_json()
    ent = entitlement(days=90)
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=chair,
                    json={"outcome": "approved", "rationale": "ok", "entitlement": ent})
    assert r.status_code == 201, r.get_json()
    return req, chair, ent


def test_a_no_op_amendment_is_refused_and_writes_nothing(app, client, approved):
    req, chair, ent = approved
    before = written(app)
    assert before["deliveries"] >= 1
    same_with_defaults = {k: v for k, v in ent.items() if k not in ("conditions",)}
    for body in (ent, same_with_defaults):
        r = client.post(f"/api/v1/requests/{req['id']}/amend", headers=chair,
                        json={"rationale": "Nothing new", "entitlement": body})
        assert r.status_code == 409, r.get_json()
        assert r.get_json()["code"] == "no_change" and "changes nothing" in r.get_json()["message"]
    assert written(app) == before
    got = client.get(f"/api/v1/requests/{req['id']}", headers=chair).get_json()
    assert got["entitlement"]["version"] == 1
    changed = client.post(f"/api/v1/requests/{req['id']}/amend", headers=chair, json={
        "rationale": "Notice earlier", "entitlement": {**ent, "renewal": {"mode": "manual", "notice_days": 30}}})
    assert changed.status_code == 201 and changed.get_json()["entitlement"]["version"] == 2


def test_a_no_op_renewal_is_refused_and_writes_nothing(app, client, approved):
    req, chair, ent = approved
    before = written(app)
    r = client.post(f"/api/v1/requests/{req['id']}/renew", headers=chair,
                    json={"rationale": "Same date", "expires_at": ent["expires_at"]})
    assert r.status_code == 409 and r.get_json()["code"] == "no_change"
    assert written(app) == before
    earlier = (date.fromisoformat(ent["expires_at"]) - timedelta(days=1)).isoformat()
    r = client.post(f"/api/v1/requests/{req['id']}/renew", headers=chair,
                    json={"rationale": "Earlier", "expires_at": earlier})
    assert r.status_code == 422 and r.get_json()["code"] == "renewal_not_later"
    later = (date.fromisoformat(ent["expires_at"]) + timedelta(days=30)).isoformat()
    r = client.post(f"/api/v1/requests/{req['id']}/renew", headers=chair,
                    json={"rationale": "Later", "expires_at": later})
    assert r.status_code == 201 and r.get_json()["entitlement"]["version"] == 2
