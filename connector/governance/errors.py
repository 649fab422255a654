"""Domain errors: values with a machine-readable code, a message a person can act on and details.

The HTTP layer maps the kinds onto status codes (invalid → 422, conflict → 409, forbidden → 403).
"""

from __future__ import annotations

from typing import Any


class GovernanceError(Exception):
    kind = "conflict"

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


class InvalidInput(GovernanceError):
    """The input is well-formed but breaks a rule (maps to 422); ``details['fields']`` names each field."""

    kind = "invalid"


class StateConflict(GovernanceError):
    """The request is not in a state that allows this (maps to 409)."""

    kind = "conflict"


class NotPermitted(GovernanceError):
    """The principal lacks the committee role this needs (maps to 403)."""

    kind = "forbidden"
