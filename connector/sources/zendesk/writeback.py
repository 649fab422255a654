"""Write-back to Zendesk: each item planned as a ticket change (the connector's custom fields, its state tags,
comments, the status an admin maps), then sent in ``update_many`` batches or one ``safe_update`` at a time.

A change that only adds a comment, adds (or removes the connector's own state) tags and sets the connector's own
custom fields cannot clobber an agent's edit, so it goes out in ``update_many`` batches — also on a retry, minus
the comments already posted. Decisions (a reply and a note) go out that way too when several tickets are decided
at once on a first attempt: a reply round, then a note round. The ticket ``status`` belongs to the agents, so any
change that sets it, a single decision and a decision's retry are each a ``safe_update`` on the ``updated_at``
just read, re-read and re-applied on 409.

The wording of the notices the connector writes itself (what is missing, an ending) is the policy's
(``needs_info_notice``, ``ending_reply``, ``ending_note``), handed over in ``ConnectionContext.templates``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from adapters.errors import AuthorizationError
from adapters.zendesk import (
    AuthorizationRequired,
    NotFound,
    TicketResult,
    ZendeskClient,
    ZendeskError,
    ticket_update_body,
)
from connector.governance.communications import render_text
from connector.sources import ConnectionContext, Outcome, WriteBackItem
from connector.sources.errors import hold_of, outcome_of
from connector.sources.zendesk.read import DISPUTE_TAG
from connector.sources.zendesk.settings import LABEL, STATES, TICKET_ID, as_source_error, explanation, make_client
from mappings import MappingDocument, apply_outbound, summarize_intake
from mappings import zendesk_custom_fields as custom_fields_of

STATE_TAG_PREFIX = "license_exception_"
#: Changes that come with a new decision (its customer summary and internal note are posted).
DECISION_CHANGES = frozenset({"decided", "amended", "renewed"})
#: Changes that end an entitlement without a new decision text: the connector writes a short notice.
ENDING_CHANGES = frozenset({"revoked", "expired"})
#: Changes after which a request still in ``needs_info`` tells the ticket what is missing.
NEEDS_INFO_CHANGES = frozenset({"created", "updated", "info_requested"})
#: Seconds between polls of an ``update_many`` job, and how long to wait for it before retrying later.
JOB_POLL_INTERVAL = 1.0
JOB_TIMEOUT = 120.0
#: Job-result errors after which the same update can never succeed (closed, deleted or forbidden ticket).
_PERMANENT_JOB_ERRORS = ("RecordNotFound", "RecordInvalid", "PermissionDenied", "Forbidden", "closed prevents")


# --- planning -----------------------------------------------------------------------------------------------------

@dataclass
class TicketChange:
    """What one delivery writes to its ticket (built from the change and the request as it stands now)."""

    ticket_id: int
    custom_fields: list[dict[str, Any]]
    add_tags: list[str]
    remove_tags: list[str]
    public_comment: str | None = None
    private_note: str | None = None
    status: str | None = None

    @property
    def comments(self) -> list[tuple[str, bool]]:
        return [(text, public) for text, public in ((self.public_comment, True), (self.private_note, False)) if text]

    @property
    def batchable(self) -> bool:
        """One ticket update holds one comment; a reply plus a note needs two ordered (safe) updates."""
        return len(self.comments) <= 1

    def bulk_item(self) -> dict[str, Any]:
        """This change as one per-ticket body of ``update_many`` (never one that sets the agents' status)."""
        if self.status is not None:
            raise ValueError("a change that sets the ticket status is a safe_update, never an update_many item")
        comment = next(({"body": text, "public": public} for text, public in self.comments), None)
        body = ticket_update_body(comment=comment, custom_fields=self.custom_fields or None,
                                  additional_tags=self.add_tags)
        if self.remove_tags:
            body["remove_tags"] = list(self.remove_tags)
        return {"id": self.ticket_id, **body}

    def in_two_updates(self) -> tuple[TicketChange, TicketChange]:
        """The reply (with fields and tags) and the note as two updates, in that order."""
        return (TicketChange(self.ticket_id, self.custom_fields, self.add_tags, self.remove_tags,
                             self.public_comment, None, self.status),
                TicketChange(self.ticket_id, [], [], [], None, self.private_note, None))

    def without(self, posted: set[tuple[str, bool]]) -> TicketChange:
        """The same change minus comments the ticket already shows (a retried delivery never posts twice)."""
        public = self.public_comment if (_squash(self.public_comment or ""), True) not in posted else None
        private = self.private_note if (_squash(self.private_note or ""), False) not in posted else None
        return TicketChange(self.ticket_id, self.custom_fields, self.add_tags, self.remove_tags, public, private,
                            self.status)


class NoticeFailed(Exception):
    """The policy's template for a notice is missing or fails on this request's values."""


def _squash(text: str) -> str:
    return " ".join(text.split())


def state_tag(state: str) -> str:
    return f"{STATE_TAG_PREFIX}{state}"


def _notice(templates: Mapping[str, str], name: str, context: Mapping[str, Any]) -> str:
    """One of the policy's notice templates, rendered as written."""
    if name not in templates:
        raise NoticeFailed(f"the policy has no {name} template")
    try:
        return render_text(templates[name], context)
    except Exception as exc:  # an admin's template: any failure of it is the policy's, fixed there
        raise NoticeFailed(f"the policy's {name} template fails for this request ({type(exc).__name__}: "
                           f"{exc})") from exc


def needs_info_notice(view: Mapping[str, Any], templates: Mapping[str, str]) -> str | None:
    """What the ticket is told while the request waits for information; None when nothing can be said."""
    question = (view.get("info_request") or {}).get("question")
    missing = summarize_intake(view.get("intake"))
    if not question and not missing:
        return None
    return _notice(templates, "needs_info_notice", {"request": view, "question": question, "missing": missing})


def ending_notice(change: str, told: Mapping[str, Any], templates: Mapping[str, str]) -> tuple[str, str]:
    """Public reply and internal note when an exception ends (revoked, expired): no new decision text exists."""
    entitlement = told.get("entitlement") or {}
    context = {"request": told, "entitlement": entitlement, "change": change,
               "ended_on": str(entitlement.get("expires_at") or "")[:10] or date.today().isoformat()}
    return _notice(templates, "ending_reply", context), _notice(templates, "ending_note", context)


def _ticket_id(view: Mapping[str, Any]) -> int:
    external_id = str(view.get("external_id") or "")
    if not TICKET_ID.fullmatch(external_id):
        raise ValueError(f"the request names no Zendesk ticket (external_id {external_id!r})")
    return int(external_id)


def _comments(item: WriteBackItem, state: str, settings: Mapping[str, Any],
              templates: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(public reply, internal note) the change posts."""
    # what a decision or an ending announces was pinned when it was queued (later changes may follow unsent)
    told = {**item.view, **item.announces}
    if item.change in DECISION_CHANGES:
        decision = told.get("decision") or {}
        return decision.get("customer_summary") or None, decision.get("internal_note") or None
    if item.change in ENDING_CHANGES:
        return ending_notice(item.change, told, templates)
    if item.change in NEEDS_INFO_CHANGES and state == "needs_info":
        message = needs_info_notice(item.view, templates)
        return (None, message) if settings.get("needs_info_comment") == "private" else (message, None)
    return None, None


def plan_ticket_change(item: WriteBackItem, mapping: MappingDocument | None, settings: Mapping[str, Any],
                       templates: Mapping[str, str] | None = None) -> TicketChange:
    """The ticket update for one item; ``ValueError`` when the request names no Zendesk ticket, ``NoticeFailed``
    when the policy's wording of a notice cannot be rendered."""
    view = item.view
    ticket_id = _ticket_id(view)
    state = str(view.get("state") or "")
    selection_tag = str(settings.get("tag") or "license_exception")
    add = [state_tag(state)] if state in STATES else []
    remove = [state_tag(s) for s in STATES if s != state and state_tag(s) != selection_tag]
    if view.get("disputes"):  # the dispute tag has been taken into account: clear it so it is not counted again
        remove.append(DISPUTE_TAG)
    values = apply_outbound(mapping, view) if mapping is not None else {}
    public, private = _comments(item, state, settings, templates or {})
    return TicketChange(ticket_id, custom_fields_of(values), add, remove, public, private,
                        status=(settings.get("status_by_state") or {}).get(state))


def _outcome_for(exc: ZendeskError, change: str, ticket_id: int) -> Outcome:
    if isinstance(exc, NotFound) and change == "withdrawn":  # deleted: that is why the request was withdrawn
        return Outcome("delivered", f"ticket {ticket_id} no longer exists in Zendesk", exc.status)
    return outcome_of(exc, f"ticket {ticket_id}")


# --- what a deliver call has learnt -------------------------------------------------------------------------------

@dataclass
class Ledger:
    """The outcomes of one ``deliver`` call as it goes: one per item once known, which items are partly on their
    ticket (a reply without its note), whether anything reached Zendesk yet, and the hold that stops the rest."""

    items: Sequence[WriteBackItem]
    outcomes: list[Outcome | None] = field(init=False)
    partly: set[int] = field(default_factory=set)
    wrote: bool = False
    stop: Outcome | None = None

    def __post_init__(self) -> None:
        self.outcomes = [None] * len(self.items)

    def delivered(self, index: int, detail: str) -> None:
        self.wrote = True
        self.outcomes[index] = Outcome("delivered", detail, 200)

    def failed(self, index: int, ticket_id: int, exc: ZendeskError) -> None:
        """Record a failure; a rate limit or a dead grant stops the rest of this call.

        A grant refused before anything was written marks the connection (``SourceError``); once something
        was written, the rest is held instead, so the written deliveries are still recorded as delivered.
        """
        if exc.partly_written:
            self.partly.add(index)
        hold = hold_of(exc, LABEL, explanation(exc))
        if isinstance(exc, AuthorizationError):
            if not self.wrote and not exc.partly_written:
                raise as_source_error(exc) from exc
            self.stop = hold
            return
        if hold is not None:  # a rate limit: this item is retried, the rest waits
            self.stop = hold
        previous = self.outcomes[index]
        if previous is not None and previous.result == "delivered":  # only a follow-up (stale tags) failed
            return
        self.outcomes[index] = _outcome_for(exc, self.items[index].change, ticket_id)

    def results(self) -> list[Outcome]:
        """One outcome per item: a row left without its own gets the stop (held), counted when part of it was
        written; without a stop it was not attempted."""
        return [outcome if outcome is not None else self._stopped(index)
                for index, outcome in enumerate(self.outcomes)]

    def _stopped(self, index: int) -> Outcome:
        if self.stop is None:
            return Outcome("retry", "not attempted")
        return replace(self.stop, partial=True) if index in self.partly else self.stop


# --- the bulk batch -----------------------------------------------------------------------------------------------

#: ``whole``: an item's change; ``reply``/``note``: the two halves of a decision, in that order; ``follow_up``:
#: the removal of stale state tags after a safe update already delivered the item (best effort)
Part = Literal["whole", "reply", "note", "follow_up"]


@dataclass(frozen=True)
class BulkEntry:
    body: dict[str, Any]
    owner: int
    part: Part = "whole"

    @property
    def ticket_id(self) -> int:
        return int(self.body["id"])


@dataclass
class Batch:
    """Per-ticket bodies for ``update_many``, each answering for one item."""

    entries: list[BulkEntry] = field(default_factory=list)

    def add(self, body: dict[str, Any], owner: int, part: Part = "whole") -> None:
        self.entries.append(BulkEntry(body, owner, part))

    def rounds(self) -> Iterator[list[BulkEntry]]:
        """Split so no ticket appears twice in one ``update_many`` (each round keeps submission order)."""
        pending = list(self.entries)
        while pending:
            seen: set[int] = set()
            now: list[BulkEntry] = []
            later: list[BulkEntry] = []
            for entry in pending:
                (later if entry.ticket_id in seen else now).append(entry)
                seen.add(entry.ticket_id)
            yield now
            pending = later


# --- sending ------------------------------------------------------------------------------------------------------

def deliver(ctx: ConnectionContext, items: Sequence[WriteBackItem]) -> list[Outcome]:
    """Post each item's change to its ticket; one outcome per item, in order."""
    ledger = Ledger(items)
    plans = _plans(ctx, items, ledger)
    client = make_client(ctx)
    split_decisions = sum(1 for i, p in plans.items()
                          if not p.batchable and p.status is None and not items[i].retried) > 1
    batch = Batch()
    for index, plan in plans.items():
        if ledger.stop is not None:
            break
        if items[index].retried and plan.comments:
            unposted = _unposted(client, ledger, index, plan)
            if unposted is None:
                continue
            plan = unposted
        _route(client, ledger, batch, index, plan, split_decisions and not items[index].retried)
    if ledger.stop is None and batch.entries:
        for entries in batch.rounds():
            if ledger.stop is not None:
                break
            _send_round(client, ledger, entries)
    return ledger.results()


def _route(client: ZendeskClient, ledger: Ledger, batch: Batch, index: int, plan: TicketChange,
           split: bool) -> None:
    """Into the bulk batch (whole, or a decision as a reply round and a note round when ``split``), or out now
    in a ``safe_update``: a change that sets the agents' status, and a decision that cannot be split."""
    if plan.status is not None:  # an agent-owned field: never blind, in bulk
        _safe_update(client, ledger, index, plan, batch)
    elif plan.batchable:
        batch.add(plan.bulk_item(), index)
    elif split:
        reply, note = plan.in_two_updates()
        batch.add(reply.bulk_item(), index, "reply")
        batch.add(note.bulk_item(), index, "note")
    else:
        _safe_update(client, ledger, index, plan, batch)


def _plans(ctx: ConnectionContext, items: Sequence[WriteBackItem], ledger: Ledger) -> dict[int, TicketChange]:
    """Each item's ticket change; an item that names no ticket is dead, one whose notice fails is retried."""
    plans: dict[int, TicketChange] = {}
    for index, item in enumerate(items):
        try:
            plans[index] = plan_ticket_change(item, ctx.mapping, ctx.settings, ctx.templates)
        except ValueError as exc:
            ledger.outcomes[index] = Outcome("dead", str(exc))
        except NoticeFailed as exc:
            ledger.outcomes[index] = Outcome("retry", f"{exc}; fix the template (PUT /api/v1/policy)")
    return plans


def _unposted(client: ZendeskClient, ledger: Ledger, index: int, plan: TicketChange) -> TicketChange | None:
    """On a retry, drop comments an earlier attempt already posted."""
    try:
        posted = {(_squash(str(c.get("body") or c.get("plain_body") or "")), bool(c.get("public")))
                  for c in client.comments(plan.ticket_id)}
    except ZendeskError as exc:
        ledger.failed(index, plan.ticket_id, exc)
        return None
    return plan.without(posted)


def _safe_update(client: ZendeskClient, ledger: Ledger, index: int, plan: TicketChange, batch: Batch) -> None:
    """One ``safe_update`` (the reply, then the note); stale state tags follow in the bulk batch."""
    try:
        ticket = client.apply_decision_writeback(
            plan.ticket_id, public_comment=plan.public_comment, private_note=plan.private_note,
            custom_fields=plan.custom_fields or None, tags=plan.add_tags, status=plan.status)
    except ZendeskError as exc:
        ledger.failed(index, plan.ticket_id, exc)
        return
    ledger.delivered(index, f"ticket {plan.ticket_id} updated (safe update)")
    stale = [t for t in ticket.get("tags") or () if t in plan.remove_tags]
    if stale:  # the connector's own earlier state tags; never an agent's
        batch.add({"id": plan.ticket_id, "remove_tags": stale}, index, "follow_up")


def _send_round(client: ZendeskClient, ledger: Ledger, entries: list[BulkEntry]) -> None:
    """One ``update_many`` (and its job polls); a decision whose reply failed does not get its note: the retry
    re-reads the ticket and completes it."""
    kept = [e for e in entries if not (e.part == "note" and ledger.outcomes[e.owner] is not None)]
    if not kept:
        return
    try:
        results = client.apply_updates([e.body for e in kept], poll_interval=JOB_POLL_INTERVAL, timeout=JOB_TIMEOUT)
    except ZendeskError as exc:
        for entry in kept:
            if isinstance(exc, AuthorizationRequired) and not ledger.wrote:
                raise as_source_error(exc) from exc
            ledger.failed(entry.owner, entry.ticket_id, exc)
        return
    ledger.wrote = True
    for entry in kept:
        if ledger.outcomes[entry.owner] is None:  # else a follow-up of a delivered item: best effort
            _record_result(ledger, entry, results.get(entry.ticket_id))


def _record_result(ledger: Ledger, entry: BulkEntry, result: TicketResult | None) -> None:
    """What the job says of one entry: delivered once its last part is on the ticket, else dead when the same
    update can never succeed, retried otherwise."""
    if result is not None and result.success:
        if entry.part == "reply":
            ledger.partly.add(entry.owner)  # its reply is on the ticket; its note is the next round
        else:
            ledger.delivered(entry.owner, f"ticket {entry.ticket_id} updated in bulk")
        return
    error = (result.error if result else None) or "the bulk job reported no result"
    permanent = any(marker in error for marker in _PERMANENT_JOB_ERRORS)
    ledger.outcomes[entry.owner] = Outcome("dead" if permanent else "retry", f"ticket {entry.ticket_id}: {error}")
