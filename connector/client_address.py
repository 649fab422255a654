"""The address of the client that sent the current request, honouring ``CONNECTOR_TRUSTED_PROXIES``.

One place answers "who is this", so the push endpoints' ``allowed_push_networks`` and sign-in throttling agree;
see ``connector.networks.client_address`` for how ``X-Forwarded-For`` is read.
"""

from __future__ import annotations

from flask import request

from connector.config import settings
from connector.networks import IPAddress, client_address


def current_client_address() -> IPAddress | None:
    """The current request's client address; None when a trusted proxy named no readable one."""
    return client_address(request.remote_addr, request.headers.getlist("X-Forwarded-For"),
                          settings().trusted_proxies)


def current_client_label() -> str:
    """The client address as text (``unknown`` when there is none): a key to count attempts by."""
    address = current_client_address()
    return str(address) if address is not None else "unknown"
