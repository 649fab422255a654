"""Connection settings every source kind shares about pushes (declared once, used by each kind's schema)."""

from __future__ import annotations

from marshmallow import ValidationError, fields

from connector.networks import network_problem


def _network(value: str) -> None:
    problem = network_problem(value)
    if problem:
        raise ValidationError(problem)


def allowed_push_networks() -> fields.List:
    """``allowed_push_networks``: CIDRs pushes may come from (the client address honours
    ``CONNECTOR_TRUSTED_PROXIES``); empty or absent accepts pushes from anywhere."""
    return fields.List(fields.String(validate=_network), allow_none=True, metadata={
        "description": "Networks (CIDR, e.g. 203.0.113.0/24) pushes may come from; others are refused (403). "
                       "Empty or absent: any. Behind a proxy, set CONNECTOR_TRUSTED_PROXIES."})
