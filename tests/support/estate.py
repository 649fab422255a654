"""Requests taken through intake, votes and decisions over the API, for tests that need a seeded estate."""

from __future__ import annotations

import copy
from typing import Any

from support.bodies import SMALL, entitlement

COMMITTEE = ("licensing", "legal", "product", "sales", "security")


def request_body(**changes: Any) -> dict[str, Any]:
    """SMALL with ``changes`` (``requested_terms``, ``customer`` … replace the whole value)."""
    body = copy.deepcopy(SMALL)
    body.update(copy.deepcopy(changes))
    return body


def create(client: Any, intake: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/v1/requests", json=body, headers=intake)
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def vote_all(client: Any, board: dict[str, str], req: dict[str, Any], roles: Any = None) -> None:
    """An approve from each required role (the board holds every committee role)."""
    view = client.get(f"/api/v1/requests/{req['id']}", headers=board).get_json()
    if view["track"] == "fast" and roles is None:
        return
    for role in roles if roles is not None else view["review"]["required_roles"]:
        r = client.post(f"/api/v1/requests/{req['id']}/votes", headers=board,
                        json={"role": role, "vote": "approve", "rationale": "ok"})
        assert r.status_code == 201, r.get_json()


def decide(client: Any, board: dict[str, str], req: dict[str, Any], outcome: str = "approved",
           grants: dict[str, Any] | None = None, days: int = 180) -> dict[str, Any]:
    if outcome != "denied":
        vote_all(client, board, req)
    body: dict[str, Any] = {"outcome": outcome, "rationale": "Decided for the test"}
    if outcome != "denied":
        body["entitlement"] = entitlement(days=days, grants=grants or {"seats": 105},
                                          conditions=["Reported monthly"] if outcome.endswith("conditions") else [])
    r = client.post(f"/api/v1/requests/{req['id']}/decision", headers=board, json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]
