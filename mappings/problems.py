"""Validation findings as values: the API answers 422 with them, the CLI prints them, the UI marks fields."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MappingProblem:
    """One thing wrong with a mapping document.

    `field` locates it in the document (`inbound.category`, `outbound.Decision__c`, `kind`), `rule` is a
    stable machine code (`unknown_target`, `unresolved_placeholder`, ...) and `message` tells a person what
    to change.
    """

    field: str
    rule: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


class MappingError(ValueError):
    """Raised by callers (and `load_mapping`) that refuse a document with problems; carries all of them."""

    def __init__(self, problems: Iterable[MappingProblem]) -> None:
        self.problems: list[MappingProblem] = list(problems)
        summary = "; ".join(f"{p.field}: {p.message}" for p in self.problems[:5])
        more = len(self.problems) - 5
        if more > 0:
            summary += f"; and {more} more"
        super().__init__(f"Invalid mapping: {summary}" if self.problems else "Invalid mapping")

    def to_dict(self) -> dict[str, Any]:
        """The field-level details for an error response."""
        return {"problems": [p.to_dict() for p in self.problems]}
