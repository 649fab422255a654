"""Write-back to Salesforce: each delivery's outbound values as sObject Collections updates (200 records per
call, ``allOrNone: false``), each record's result the outcome of the deliveries that named it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.salesforce import (
    CollectionUpdateError,
    RecordResult,
    RetriableError,
    SalesforceClient,
    SalesforceError,
)
from connector.sources import ConnectionContext, Outcome, SourceError, WriteBackItem
from connector.sources.errors import hold_of, outcome_of
from connector.sources.salesforce.settings import (
    LABEL,
    RECORD_ID,
    adapter_settings,
    as_source_error,
    explanation,
    make_client,
    sobject_of,
)
from mappings import MappingDocument, apply_outbound

#: Per-record errors that mean the record is gone: a ``withdrawn`` write-back has nothing left to tell.
GONE_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})


def _errors_text(result: RecordResult) -> str:
    parts = []
    for err in result.errors:
        where = f" ({', '.join(err.fields)})" if err.fields else ""
        parts.append(f"{err.status_code}: {err.message}{where}")
    return "; ".join(parts) or "Salesforce reported a failure without details"


def record_outcome(result: RecordResult, change: str, sobject: str) -> Outcome:
    """One record of a Collections call as the outcome of its delivery."""
    if result.success:
        return Outcome("delivered", f"{sobject} {result.id} updated", 200)
    detail = f"{sobject} {result.id}: {_errors_text(result)}"
    if result.retriable:
        return Outcome("retry", detail, 200)
    if change == "withdrawn" and result.errors and all(e.status_code in GONE_CODES for e in result.errors):
        return Outcome("delivered", f"{sobject} {result.id} no longer exists in Salesforce", 200)
    return Outcome("dead", detail, 200)


def call_outcome(exc: SalesforceError) -> Outcome:
    """The outcome of the deliveries a failed Collections call did not reach (earlier chunks were written)."""
    return hold_of(exc, LABEL, explanation(exc)) or outcome_of(exc)


@dataclass
class WriteBack:
    """A ``deliver`` call planned: one Collections record per distinct Salesforce record, and which deliveries
    each one answers for (a record named twice is written once, with the request as it stands now)."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    owners: dict[str, list[int]] = field(default_factory=dict)

    def add(self, record_id: str, values: Mapping[str, Any], index: int) -> None:
        self.records[record_id] = {"Id": record_id, **values}
        self.owners.setdefault(record_id, []).append(index)


def plan_write_back(items: Sequence[WriteBackItem], mapping: MappingDocument,
                    outcomes: list[Outcome | None]) -> WriteBack:
    plan = WriteBack()
    for index, item in enumerate(items):
        record_id = str(item.view.get("external_id") or "")
        if not RECORD_ID.match(record_id):
            outcomes[index] = Outcome("dead", f"the request names no Salesforce record (external_id "
                                              f"{record_id or 'missing'!r})")
            continue
        values = apply_outbound(mapping, item.view)
        if not values:
            outcomes[index] = Outcome("delivered", "the mapping writes no fields back")
            continue
        plan.add(record_id, values, index)
    return plan


def deliver(ctx: ConnectionContext, items: Sequence[WriteBackItem]) -> list[Outcome]:
    """Every item in sObject Collections updates (200 per call, ``allOrNone: false``); each record's result
    becomes its items' outcome, in order."""
    if ctx.mapping is None:
        raise SourceError("error", f"Connection '{ctx.name}' has no mapping; nothing can be written back.")
    settings = adapter_settings(ctx)
    sobject = sobject_of(ctx, settings)
    outcomes: list[Outcome | None] = [None] * len(items)
    plan = plan_write_back(items, ctx.mapping, outcomes)
    ids = list(plan.records)
    if ids:
        results, failure = _update(make_client(ctx, settings), sobject, [plan.records[i] for i in ids])
        for record_id, result in zip(ids, results, strict=False):
            for index in plan.owners[record_id]:
                outcomes[index] = record_outcome(result, items[index].change, sobject)
        if failure is not None:
            rest = call_outcome(failure)
            for record_id in ids[len(results):]:
                for index in plan.owners[record_id]:
                    outcomes[index] = rest
    return [o if o is not None else Outcome("retry", "not attempted") for o in outcomes]


def _update(client: SalesforceClient, sobject: str,
            records: list[dict[str, Any]]) -> tuple[list[RecordResult], SalesforceError | None]:
    """Results obtained, and the error that stopped the rest (a whole-call failure before any write that
    concerns the connection, not single records, is raised for the connection's status)."""
    try:
        return client.update_records(sobject, records), None
    except CollectionUpdateError as exc:
        return list(exc.completed), exc.cause
    except RetriableError as exc:  # 5xx, timeouts: every delivery of the call is retried
        return [], exc
    except SalesforceError as exc:
        raise as_source_error(exc) from exc
    except ValueError as exc:  # an outbound key that is not a field name (validation normally stops it)
        raise SourceError("error", f"The outbound mapping cannot be written to Salesforce: {exc}.") from exc
