"""Sign-in throttling counts the client's address, not the proxy's: behind ``CONNECTOR_TRUSTED_PROXIES`` it is the
right-most ``X-Forwarded-For`` hop that is not a trusted proxy (the same address the push endpoints use)."""

from __future__ import annotations

from sqlalchemy import select

from connector.config import reconfigure
from connector.db import db
from connector.models import AuditEvent

WRONG = "not the right password at all"
PROXY = "10.0.0.5"


def test_twenty_failures_lock_the_client_behind_the_proxy_not_the_proxy(app, csrf, make_account, password):
    reconfigure(app, CONNECTOR_TRUSTED_PROXIES="10.0.0.0/8")
    victims = [make_account("reviewer", "legal") for _ in range(5)]

    def attempt(email: str, secret: str, forwarded: str):
        client = app.test_client()
        token = csrf(client.get("/sign-in").get_data(as_text=True))
        return client.post("/sign-in", data={"csrf_token": token, "email": email, "password": secret},
                           headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": PROXY})

    # the attacker varies what it writes into the header; the proxy appends its real address
    statuses = [attempt(victims[n % 5], WRONG, f"192.0.2.{n}, 198.51.100.7").status_code for n in range(20)]
    assert statuses == [401] * 19 + [429]
    assert attempt(victims[0], password, "198.51.100.7").status_code == 429
    assert attempt(victims[0], password, "203.0.113.9").status_code == 303  # another client, same proxy
    with app.app_context():
        [lock] = [e.data for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in.locked"))]
    assert (lock["scope"], lock["address"]) == ("address", "198.51.100.7")
