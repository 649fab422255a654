"""Which tickets are license exception requests: those with the configured tag or ticket form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .settings import ZendeskSettings


def is_license_exception(ticket: Mapping[str, Any], settings: ZendeskSettings) -> bool:
    """True when the ticket carries ``settings.tag`` or uses ``settings.ticket_form_id``."""
    if ticket.get("status") == "deleted":
        return False
    if settings.tag and settings.tag in (ticket.get("tags") or ()):
        return True
    form_id = ticket.get("ticket_form_id")
    return settings.ticket_form_id is not None and form_id is not None and int(form_id) == settings.ticket_form_id
