"""Attaching requesters and organizations to tickets.

Mappings read ``requester.<attr>`` and ``organization.<attr>``, but Zendesk tickets only carry
``requester_id`` and ``organization_id``; the people come from sideloads or ``show_many`` calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _by_id(records: Iterable[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    return {int(r["id"]): r for r in records if r.get("id") is not None}


def missing_people(
    tickets: Iterable[Mapping[str, Any]],
    users: Iterable[Mapping[str, Any]],
    organizations: Iterable[Mapping[str, Any]],
) -> tuple[list[int], list[int]]:
    """The requester ids and organization ids the tickets reference but the given records lack."""
    known_users = {int(u["id"]) for u in users if u.get("id") is not None}
    known_orgs = {int(o["id"]) for o in organizations if o.get("id") is not None}
    user_ids: dict[int, None] = {}
    org_ids: dict[int, None] = {}
    for ticket in tickets:
        requester_id = ticket.get("requester_id")
        if requester_id is not None and int(requester_id) not in known_users:
            user_ids[int(requester_id)] = None
        organization_id = ticket.get("organization_id")
        if organization_id is not None and int(organization_id) not in known_orgs:
            org_ids[int(organization_id)] = None
    return list(user_ids), list(org_ids)


def attach_people(
    tickets: Iterable[Mapping[str, Any]],
    users: Iterable[Mapping[str, Any]],
    organizations: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Copies of the tickets with ``requester`` and ``organization`` dicts (``None`` when unknown).

    Pure: the input tickets are left untouched.
    """
    users_by_id = _by_id(users)
    orgs_by_id = _by_id(organizations)
    attached: list[dict[str, Any]] = []
    for ticket in tickets:
        copy = dict(ticket)
        requester_id = ticket.get("requester_id")
        organization_id = ticket.get("organization_id")
        requester = users_by_id.get(int(requester_id)) if requester_id is not None else None
        organization = orgs_by_id.get(int(organization_id)) if organization_id is not None else None
        copy["requester"] = dict(requester) if requester is not None else None
        copy["organization"] = dict(organization) if organization is not None else None
        attached.append(copy)
    return attached
