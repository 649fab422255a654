"""Per-ticket outcomes of Zendesk background jobs (``update_many`` answers with a job status to poll)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Job statuses after which the job will not change any more.
FINISHED_JOB_STATUSES = frozenset({"completed", "failed", "killed"})


@dataclass(frozen=True)
class TicketResult:
    """What happened to one ticket of a bulk update."""

    ticket_id: int
    success: bool
    status: str
    error: str | None = None


def _error_text(result: Mapping[str, Any]) -> str | None:
    parts = [str(result[key]) for key in ("error", "errors", "details") if result.get(key)]
    return "; ".join(parts) or None


def _reported(result: Any, ticket_ids: Sequence[int]) -> TicketResult | None:
    """One job result as a ``TicketResult``; ``None`` when it names no ticket (by ``id`` or request ``index``)."""
    if not isinstance(result, Mapping):
        return None
    ticket_id = result.get("id")
    if ticket_id is None and isinstance(result.get("index"), int) and result["index"] < len(ticket_ids):
        ticket_id = ticket_ids[result["index"]]
    if ticket_id is None:
        return None
    error = _error_text(result)
    success = result.get("success")
    if success is None:
        success = error is None and str(result.get("status", "")).lower() not in ("failed", "errored")
    status = str(result.get("status") or ("Updated" if success else "Failed"))
    return TicketResult(int(ticket_id), bool(success), status, error)


def ticket_results(job_status: Mapping[str, Any], ticket_ids: Sequence[int]) -> dict[int, TicketResult]:
    """One ``TicketResult`` per submitted ticket id, in the order they were submitted.

    Zendesk lists ``results`` with the ticket ``id`` (or the request ``index``), ``success``, ``status``
    and, for failures, ``error``/``errors``/``details``. A ticket the job never reported (a job that failed
    as a whole) counts as failed with the job's message, so the caller retries it instead of losing it.
    """
    reported = {found.ticket_id: found for found in (_reported(result, ticket_ids)
                                                      for result in job_status.get("results") or ()) if found}
    outcome: dict[int, TicketResult] = {}
    for ticket_id in ticket_ids:
        outcome[int(ticket_id)] = reported.get(int(ticket_id)) or TicketResult(
            int(ticket_id),
            False,
            str(job_status.get("status") or "unknown"),
            str(job_status.get("message") or "the job reported no result for this ticket"),
        )
    return outcome
