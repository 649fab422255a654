"""The ``zendesk`` source kind: tickets flagged by tag or ticket form, synced in, decisions posted back.

Everything Zendesk-specific on the wire lives in ``adapters.zendesk``; this module turns a connection's
settings into adapter calls, adapter errors into connection statuses, and a delivery (a change plus the
request's public view) into a ticket update: comments, the connector's custom fields, state tags and, when
the admin asks for it, a status.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from adapters.zendesk import (
    AuthorizationRequired,
    Conflict,
    FatalError,
    ForeignUrl,
    NotFound,
    RateLimited,
    RetriableError,
    WebhookPayloadError,
    WebhookSignatureError,
    ZendeskClient,
    ZendeskError,
    ZendeskSettings,
    is_license_exception,
    parse_webhook_event,
    ticket_update_body,
    verify_signature,
)
from adapters.zendesk import oauth as zendesk_oauth
from adapters.zendesk.client import TRIGGER_WEBHOOK_BODY
from adapters.zendesk.webhook import INVOCATION_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WEBHOOK_ID_HEADER
from connector.sources import (
    AuthorizationResult,
    ConnectionContext,
    Outcome,
    SourceError,
    SourceKind,
    SourcePage,
    SourceRecord,
    WebhookReceipt,
    WebhookRefused,
    register,
)
from connector.sources.dialects import ZENDESK, ZENDESK_TICKET_ATTRIBUTES
from mappings import ZENDESK_PLACEHOLDER_FIELDS, MappingDocument, SourceDialect, apply_outbound, summarize_intake
from mappings import zendesk_custom_fields as custom_fields_of

if TYPE_CHECKING:
    from flask import Request

    from connector.models import Delivery, InboundEvent
    from connector.provisioning import Provisioned

log = logging.getLogger(__name__)

#: Governance states, each written to the ticket as the tag ``license_exception_<state>``.
STATES = ("needs_info", "in_review", "approved", "denied", "withdrawn", "expired", "revoked")
STATE_TAG_PREFIX = "license_exception_"
#: Changes that come with a new decision (its customer summary and internal note are posted).
DECISION_CHANGES = frozenset({"decided", "amended", "renewed"})
#: Changes that end an entitlement without a new decision text: the connector writes a short notice.
ENDING_CHANGES = frozenset({"revoked", "expired"})
#: Changes after which a request still in ``needs_info`` tells the ticket what is missing.
NEEDS_INFO_CHANGES = frozenset({"created", "updated", "info_requested"})
ZENDESK_STATUSES = ("open", "pending", "hold", "solved")
#: Seconds between polls of an ``update_many`` job, and how long to wait for it before retrying later.
JOB_POLL_INTERVAL = 1.0
JOB_TIMEOUT = 120.0
#: Job-result errors after which the same update can never succeed (closed, deleted or forbidden ticket).
_PERMANENT_JOB_ERRORS = ("RecordNotFound", "RecordInvalid", "PermissionDenied", "Forbidden", "closed prevents")
_SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


# --- settings ---------------------------------------------------------------------------------------------------

def _iso_moment(value: str) -> None:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError("Use an ISO 8601 date or date-time, e.g. 2024-01-01.") from exc


class ZendeskSettingsSchema(Schema):
    """A Zendesk connection's settings (SPEC §7.4); ``client_secret``, ``api_token`` and ``webhook_secret``
    are secrets (stored encrypted, never returned)."""

    class Meta:
        unknown = RAISE

    subdomain = fields.String(validate=validate.Regexp(_SUBDOMAIN, error="The part before .zendesk.com, "
                                                       "lowercase letters, digits and -."),
                              metadata={"description": "Your account is https://<subdomain>.zendesk.com."})
    client_id = fields.String(metadata={"description": "Unique identifier of the OAuth client (Admin Center)."})
    client_secret = fields.String(metadata={"description": "The OAuth client's secret (write-only)."})
    auth = fields.String(load_default="oauth", validate=validate.OneOf(("oauth", "api_token")),
                         metadata={"description": "oauth (recommended), or api_token: legacy basic auth that "
                                                  "Zendesk retires in 2027."})
    email = fields.Email(metadata={"description": "auth=api_token: the agent the API token belongs to."})
    api_token = fields.String(metadata={"description": "auth=api_token: the API token (write-only, legacy)."})
    webhook_secret = fields.String(metadata={"description": "The webhook's signing secret (write-only); "
                                                            "provisioning fills it in."})
    tag = fields.String(load_default="license_exception",
                        validate=validate.Regexp(r"^\S+$", error="A Zendesk tag is one word without spaces."),
                        metadata={"description": "Tickets with this tag are license exception requests."})
    # Zendesk ids are positive 64-bit integers: anything larger can be neither a Zendesk id nor stored
    ticket_form_id = fields.Integer(allow_none=True, validate=validate.Range(
                                        min=1, max=2**63 - 1, error="A Zendesk id: a whole number from 1 to {max}."),
                                    metadata={"description": "Tickets with this form are requests too."})
    field_ids = fields.Dict(keys=fields.String(validate=validate.OneOf(tuple(ZENDESK_PLACEHOLDER_FIELDS))),
                            values=fields.Integer(validate=validate.Range(
                                min=1, max=2**63 - 1, error="A Zendesk id: a whole number from 1 to {max}.")),
                            metadata={"description": "Custom ticket field ids by mapping placeholder name "
                                                     "(filled by provisioning, or set by the admin)."})
    export_requests_per_minute = fields.Integer(
        load_default=10, validate=validate.Range(min=0, max=1000),
        metadata={"description": "Pace of the incremental export (Zendesk allows 10 a minute); 0 turns pacing "
                                 "off, for sandboxes and benchmarks only."})
    base_url = fields.Url(require_tld=False, schemes={"http", "https"},
                          metadata={"description": "Overrides https://<subdomain>.zendesk.com: for sandboxes "
                                                   "and tests only; the host must be allowed by "
                                                   "CONNECTOR_ALLOWED_INSTANCE_HOSTS."})
    backfill_start = fields.String(validate=_iso_moment,
                                   metadata={"description": "First sync reads tickets changed since then "
                                                            "(default: the account's whole history)."})
    needs_info_comment = fields.String(load_default="public", validate=validate.OneOf(("public", "private")),
                                       metadata={"description": "What is missing goes to the ticket as a public "
                                                                "reply (default) or an internal note."})
    status_by_state = fields.Dict(keys=fields.String(validate=validate.OneOf(STATES)),
                                  values=fields.String(validate=validate.OneOf(ZENDESK_STATUSES)),
                                  metadata={"description": "Ticket status to set per governance state, e.g. "
                                                           "{needs_info: pending}; empty (default) leaves the "
                                                           "status to the agents."})
    webhook_id = fields.String(metadata={"managed": True, "description": "Set by provisioning."})
    trigger_ids = fields.List(fields.Integer(), metadata={"managed": True, "description": "Set by provisioning."})

    @validates_schema
    def _credentials(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial:
            return
        problems: dict[str, list[str]] = {}
        if not data.get("subdomain") and not data.get("base_url"):
            problems["subdomain"] = ["Required: your account is https://<subdomain>.zendesk.com."]
        if data.get("auth", "oauth") == "oauth" and not data.get("client_id"):
            problems["client_id"] = ["Required with auth=oauth: create an OAuth client in Admin Center."]
        if data.get("auth") == "api_token":
            for name in ("email", "api_token"):
                if not data.get(name):
                    problems[name] = ["Required with auth=api_token."]
        if problems:
            raise ValidationError(problems)


def adapter_settings(ctx: ConnectionContext, redirect_uri: str | None = None) -> ZendeskSettings:
    """The adapter's view of the connection; refuses a ``base_url`` on a host nobody allowed."""
    s = ctx.settings
    base_url = s.get("base_url") or None
    if base_url:
        parts = urlsplit(str(base_url))
        host, netloc = (parts.hostname or "").lower(), parts.netloc.lower()
        if not host.endswith(".zendesk.com") and host not in ctx.allowed_instance_hosts \
                and netloc not in ctx.allowed_instance_hosts:
            raise SourceError("error", f"base_url host {host!r} is not a Zendesk host; add it to "
                                       "CONNECTOR_ALLOWED_INSTANCE_HOSTS if it is your sandbox.")
    form = s.get("ticket_form_id")
    try:
        return ZendeskSettings(
            subdomain=str(s.get("subdomain") or ""), client_id=s.get("client_id"),
            client_secret=s.get("client_secret"), auth=s.get("auth") or "oauth", email=s.get("email"),
            api_token=s.get("api_token"), webhook_secret=s.get("webhook_secret"),
            tag=str(s.get("tag") or "license_exception"), ticket_form_id=int(form) if form else None,
            redirect_uri=redirect_uri, base_url=base_url,
        )
    except ValueError as exc:
        raise SourceError("error", f"The Zendesk settings are incomplete: {exc}.") from exc


def make_client(ctx: ConnectionContext, redirect_uri: str | None = None) -> ZendeskClient:
    pace = ctx.settings.get("export_requests_per_minute", 10)
    return ZendeskClient(adapter_settings(ctx, redirect_uri), ctx.token_store, timeout=ctx.http_timeout,
                         export_requests_per_minute=pace or None)


def source_error(exc: ZendeskError) -> SourceError:
    """An adapter error as the connection status an admin should see."""
    if isinstance(exc, AuthorizationRequired):
        return SourceError("needs_authorization", f"Zendesk refused the connector's credentials ({exc.code}); "
                                                  "nothing is lost: authorize the connection again.")
    if isinstance(exc, RateLimited):
        return SourceError("paused", f"Zendesk rate limit reached: try again after {exc.retry_after:g} s; "
                           "nothing is lost, the next run resumes where this one stopped.", exc.retry_after)
    if isinstance(exc, RetriableError):
        return SourceError("error", f"Zendesk is unavailable ({exc.code}: {exc.message}); try again later, "
                           "the next run resumes where this one stopped.")
    if isinstance(exc, ForeignUrl):
        return SourceError("error", f"Zendesk answered with a link to another host ({exc.host}); the connector "
                           "only calls the account's own base URL, so nothing was sent there.")
    return SourceError("error", f"Zendesk refused the request ({exc.code}): {exc.message}")


def _selections(ctx: ConnectionContext, settings: ZendeskSettings) -> list[ZendeskSettings]:
    """Which tickets are requests: the settings' tag/form, and the mapping's ``select`` when it names others."""
    chosen = [settings]
    select = dict(ctx.mapping.select or {}) if ctx.mapping is not None else {}
    tag, form = select.get("tag"), select.get("ticket_form_id")
    if (tag and tag != settings.tag) or (form and int(form) != settings.ticket_form_id):
        chosen.append(ZendeskSettings(subdomain=settings.subdomain, base_url=settings.base_url, tag=str(tag or ""),
                                      ticket_form_id=int(form) if form else None))
    return chosen


def _flagged(ticket: Mapping[str, Any], selections: Sequence[ZendeskSettings]) -> bool:
    return any(is_license_exception(ticket, s) for s in selections)


def _backfill_start(ctx: ConnectionContext) -> int:
    text = ctx.settings.get("backfill_start")
    if not text:
        return 0
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int(moment.timestamp()))


# --- write-back -------------------------------------------------------------------------------------------------

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


def _squash(text: str) -> str:
    return " ".join(text.split())


def state_tag(state: str) -> str:
    return f"{STATE_TAG_PREFIX}{state}"


def _needs_info_message(view: Mapping[str, Any]) -> str | None:
    key = view.get("key") or "this request"
    question = (view.get("info_request") or {}).get("question")
    if question:
        return f"License exception request {key}: the review committee needs more information.\n\n{question}"
    summary = summarize_intake(view.get("intake"))
    if not summary:
        return None
    return (f"License exception request {key} cannot be reviewed yet.\n\n{summary}.\n\n"
            "Please update the ticket with the missing details; review starts as soon as they are complete.")


def _ending_notice(change: str, view: Mapping[str, Any]) -> tuple[str, str]:
    """Public reply and internal note when an exception ends (revoked, expired): no new decision text exists."""
    key = view.get("key") or "the license exception"
    ent = view.get("entitlement") or {}
    when = str(ent.get("expires_at") or "")[:10] or date.today().isoformat()
    word = "was revoked" if change == "revoked" else "expired"
    public = (f"The license exception {key} {word} on {when}. From then on the standard terms of your license "
              "apply. Reply to this ticket if you need to discuss a new exception.")
    private = (f"Exception {key} {word} on {when} (entitlement version {ent.get('version')}). "
               f"The customer was told in a public reply. {view.get('url') or ''}").strip()
    return public, private


DISPUTE_TAG = "license_exception_dispute"


def disputed(ticket: Mapping[str, Any]) -> str | None:
    """The dispute an agent asked for by tagging the ticket ``license_exception_dispute``, if any."""
    if DISPUTE_TAG in (ticket.get("tags") or ()):
        return f"Disputed on Zendesk ticket #{ticket.get('id')} (tag {DISPUTE_TAG})."
    return None


def plan_ticket_change(payload: Mapping[str, Any], mapping: MappingDocument | None,
                       settings: Mapping[str, Any]) -> TicketChange:
    """The ticket update for one delivery; ``ValueError`` when the request names no Zendesk ticket."""
    change = str(payload.get("change") or "")
    view = payload.get("request") or {}
    external_id = str(view.get("external_id") or "")
    if not external_id.isdigit():
        raise ValueError(f"the request names no Zendesk ticket (external_id {external_id!r})")
    state = str(view.get("state") or "")
    selection_tag = str(settings.get("tag") or "license_exception")
    add = [state_tag(state)] if state in STATES else []
    remove = [state_tag(s) for s in STATES if s != state and state_tag(s) != selection_tag]
    if view.get("disputes"):  # the dispute tag has been taken into account: clear it so it is not counted again
        remove.append(DISPUTE_TAG)
    values = apply_outbound(mapping, view) if mapping is not None else {}
    planned = TicketChange(int(external_id), custom_fields_of(values), add, remove,
                           status=(settings.get("status_by_state") or {}).get(state))
    # what a decision or an ending announces was pinned when it was queued (later changes may follow unsent)
    told = {**view, **(payload.get("announces") or {})}
    if change in DECISION_CHANGES:
        decision = told.get("decision") or {}
        planned.public_comment = decision.get("customer_summary") or None
        planned.private_note = decision.get("internal_note") or None
    elif change in ENDING_CHANGES:
        planned.public_comment, planned.private_note = _ending_notice(change, told)
    elif change in NEEDS_INFO_CHANGES and state == "needs_info":
        message = _needs_info_message(view)
        if settings.get("needs_info_comment") == "private":
            planned.private_note = message
        else:
            planned.public_comment = message
    return planned


def _outcome_for(exc: ZendeskError, change: str, ticket_id: int) -> Outcome:
    where = f"ticket {ticket_id}: {exc.code}: {exc.message}"
    if isinstance(exc, RateLimited):
        return Outcome("retry", where, exc.status, exc.retry_after)
    if isinstance(exc, NotFound):
        if change == "withdrawn":  # the ticket was deleted: that is why the request was withdrawn
            return Outcome("delivered", f"ticket {ticket_id} no longer exists in Zendesk", exc.status)
        return Outcome("dead", where, exc.status)
    if isinstance(exc, Conflict | RetriableError):
        return Outcome("retry", where, exc.status)
    if isinstance(exc, FatalError):
        return Outcome("dead", where, exc.status)
    return Outcome("retry", where, exc.status)


@dataclass
class _Batch:
    """Per-ticket bodies for ``update_many`` and which delivery each one answers for."""

    items: list[dict[str, Any]] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)

    def add(self, item: dict[str, Any], owner: int) -> None:
        self.items.append(item)
        self.owners.append(owner)

    def rounds(self) -> Iterator[tuple[list[dict[str, Any]], list[int]]]:
        """Split so no ticket appears twice in one ``update_many`` (each round keeps submission order)."""
        pending = list(zip(self.items, self.owners, strict=True))
        while pending:
            seen: set[int] = set()
            now: list[tuple[dict[str, Any], int]] = []
            later: list[tuple[dict[str, Any], int]] = []
            for item, owner in pending:
                (later if item["id"] in seen else now).append((item, owner))
                seen.add(item["id"])
            yield [i for i, _ in now], [o for _, o in now]
            pending = later


def _tried(row: Delivery) -> bool:
    """Whether an earlier attempt may have written part of ``row`` (a reply without its note) to its ticket: any
    counted attempt. A hold gives its attempt back only when nothing of the row reached Zendesk (``partial``)."""
    return (row.attempts or 0) > 1


class _Deliverer:
    """One ``deliver`` call. A change that only adds a comment, adds (or removes the connector's own state) tags and
    sets the connector's own custom fields cannot clobber an agent's edit, so it goes out in ``update_many``
    batches — also on a retry, minus the comments already posted. Decisions (a reply and a note) go out that way too
    when several tickets are decided at once on a first attempt: a reply round, then a note round. The ticket
    ``status`` belongs to the agents, so any change that sets it, a single decision and a decision's retry are each
    a ``safe_update`` on the ``updated_at`` just read, re-read and re-applied on 409.
    """

    def __init__(self, ctx: ConnectionContext, rows: Sequence[Delivery]) -> None:
        self.ctx, self.rows = ctx, rows
        self.client = make_client(ctx)
        self.outcomes: list[Outcome | None] = [None] * len(rows)
        self.parts: dict[int, int] = {}  # owner -> bulk updates still to confirm (a reply and a note)
        self.wrote = False
        self.partly: set[int] = set()  # rows part of which is on the ticket (a reply without its note)
        self.stop: Outcome | None = None

    def run(self) -> list[Outcome]:
        batch = _Batch()
        plans: dict[int, TicketChange] = {}
        for index, row in enumerate(self.rows):
            try:
                plans[index] = plan_ticket_change(row.payload, self.ctx.mapping, self.ctx.settings)
            except ValueError as exc:
                self.outcomes[index] = Outcome("dead", str(exc))
        bulk_decisions = sum(1 for i, p in plans.items() if not p.batchable and p.status is None
                             and not _tried(self.rows[i])) > 1
        for index, plan in plans.items():
            if self.stop is not None:
                break
            if _tried(self.rows[index]) and plan.comments:
                unposted = self._unposted(index, plan)
                if unposted is None:
                    continue
                plan = unposted
            if plan.status is not None:  # an agent-owned field: never blind, in bulk
                self._one_by_one(index, plan, batch)
            elif plan.batchable:
                batch.add(plan.bulk_item(), index)
            elif bulk_decisions and not _tried(self.rows[index]):
                for part in plan.in_two_updates():
                    batch.add(part.bulk_item(), index)
                self.parts[index] = 2
            else:
                self._one_by_one(index, plan, batch)
        if self.stop is None and batch.items:
            self._in_bulk(batch)
        return [o if o is not None else self._stopped(index) for index, o in enumerate(self.outcomes)]

    def _stopped(self, index: int) -> Outcome:
        """What a row left without its own outcome gets: the stop (held), counted when part of it was written."""
        if self.stop is None:
            return Outcome("retry", "not attempted")
        return replace(self.stop, partial=True) if index in self.partly else self.stop

    def _guard(self, index: int, change: str, ticket_id: int, exc: ZendeskError) -> None:
        """Record a failure; a rate limit or a dead grant stops the rest of this call.

        A grant refused before anything was written marks the connection (``SourceError``); once something
        was written, the rest is held instead, so the written deliveries are still recorded as delivered.
        """
        if exc.partly_written:
            self.partly.add(index)
        if isinstance(exc, AuthorizationRequired):
            if not self.wrote and not exc.partly_written:
                raise source_error(exc) from exc
            self.stop = Outcome("held", source_error(exc).message, exc.status, 60)
            return
        if isinstance(exc, RateLimited):
            self.stop = Outcome("held", f"Zendesk rate limit: waiting {exc.retry_after:g} s", 429, exc.retry_after)
        previous = self.outcomes[index]
        if previous is not None and previous.result == "delivered":  # only a follow-up (stale tags) failed
            return
        self.outcomes[index] = _outcome_for(exc, change, ticket_id)

    def _unposted(self, index: int, plan: TicketChange) -> TicketChange | None:
        """On a retry, drop comments an earlier attempt already posted."""
        try:
            posted = {(_squash(str(c.get("body") or c.get("plain_body") or "")), bool(c.get("public")))
                      for c in self.client.comments(plan.ticket_id)}
        except ZendeskError as exc:
            self._guard(index, self.rows[index].change, plan.ticket_id, exc)
            return None
        return plan.without(posted)

    def _one_by_one(self, index: int, plan: TicketChange, batch: _Batch) -> None:
        row = self.rows[index]
        try:
            ticket = self.client.apply_decision_writeback(
                plan.ticket_id, public_comment=plan.public_comment, private_note=plan.private_note,
                custom_fields=plan.custom_fields or None, tags=plan.add_tags, status=plan.status)
        except ZendeskError as exc:
            self._guard(index, row.change, plan.ticket_id, exc)
            return
        self.wrote = True
        self.outcomes[index] = Outcome("delivered", f"ticket {plan.ticket_id} updated (safe update)", 200)
        stale = [t for t in ticket.get("tags") or () if t in plan.remove_tags]
        if stale:  # the connector's own earlier state tags; never an agent's
            batch.add({"id": plan.ticket_id, "remove_tags": stale}, index)

    def _in_bulk(self, batch: _Batch) -> None:
        for round_items, round_owners in batch.rounds():
            if self.stop is not None:
                return
            # a decision whose reply failed does not get its note: the retry re-reads and completes it
            kept = [(i, o) for i, o in zip(round_items, round_owners, strict=True)
                    if not (o in self.parts and self.outcomes[o] is not None)]
            if not kept:
                continue
            items, owners = [i for i, _ in kept], [o for _, o in kept]
            try:
                results = self.client.apply_updates(items, poll_interval=JOB_POLL_INTERVAL, timeout=JOB_TIMEOUT)
            except ZendeskError as exc:
                for owner, item in zip(owners, items, strict=True):
                    if isinstance(exc, AuthorizationRequired) and not self.wrote:
                        raise source_error(exc) from exc
                    self._guard(owner, self.rows[owner].change, int(item["id"]), exc)
                continue
            self.wrote = True
            for owner, item in zip(owners, items, strict=True):
                result = results.get(int(item["id"]))
                if self.outcomes[owner] is not None:  # a follow-up of a delivered decision: best effort
                    continue
                if result is not None and result.success:
                    if owner in self.parts:
                        self.parts[owner] -= 1
                        if self.parts[owner] > 0:
                            self.partly.add(owner)  # its reply is on the ticket; its note is the next round
                            continue
                    self.outcomes[owner] = Outcome("delivered", f"ticket {item['id']} updated in bulk", 200)
                    continue
                error = (result.error if result else None) or "the bulk job reported no result"
                permanent = any(marker in error for marker in _PERMANENT_JOB_ERRORS)
                self.outcomes[owner] = Outcome("dead" if permanent else "retry", f"ticket {item['id']}: {error}")


# --- the kind ---------------------------------------------------------------------------------------------------

class ZendeskKind(SourceKind):
    name: ClassVar[str] = "zendesk"
    settings_schema: ClassVar[type[Schema]] = ZendeskSettingsSchema
    secret_fields: ClassVar[tuple[str, ...]] = ("client_secret", "api_token", "webhook_secret")
    default_mapping_kind: ClassVar[str] = "zendesk"
    dialect: ClassVar[SourceDialect] = ZENDESK
    keeps_announcements: ClassVar[bool] = True  # a decision's reply and note, an ending's notice

    # authorization -------------------------------------------------------------------------------------------

    def authorization_url(self, ctx: ConnectionContext, state: str, redirect_uri: str) -> tuple[str, str]:
        settings = adapter_settings(ctx, redirect_uri)
        try:
            return zendesk_oauth.authorization_url(settings, state)
        except ZendeskError as exc:
            raise source_error(exc) from exc

    def complete_authorization(self, ctx: ConnectionContext, code: str, code_verifier: str,
                               redirect_uri: str) -> AuthorizationResult:
        settings = adapter_settings(ctx, redirect_uri)
        try:
            token = zendesk_oauth.exchange_code(settings, code, code_verifier, timeout=ctx.http_timeout)
        except ZendeskError as exc:
            raise source_error(exc) from exc
        return AuthorizationResult(token=token)

    def authorize_without_browser(self, ctx: ConnectionContext) -> AuthorizationResult | None:
        """Legacy API-token auth (Zendesk retires API tokens in 2027): check the credentials once."""
        if (ctx.settings.get("auth") or "oauth") != "api_token":
            return None
        log.warning("Zendesk connection %s uses API-token auth, which Zendesk retires in 2027; switch to OAuth",
                    ctx.name)
        try:
            user = make_client(ctx).current_user()
        except ZendeskError as exc:
            raise source_error(exc) from exc
        return AuthorizationResult(token={"auth": "api_token", "user_id": user.get("id"),
                                          "verified_at": datetime.now(UTC).isoformat()})

    # reading -------------------------------------------------------------------------------------------------

    def pages(self, ctx: ConnectionContext, watermark: Mapping[str, Any] | None) -> Iterator[SourcePage]:
        """The incremental export from the stored cursor (or the backfill start), one page per commit."""
        settings = adapter_settings(ctx)
        selections = _selections(ctx, settings)
        client = make_client(ctx)
        cursor = (watermark or {}).get("after_cursor")
        skipped = deleted = 0
        calls = client.http_calls
        try:
            for page in client.export_tickets(start_time=None if cursor else _backfill_start(ctx), cursor=cursor):
                latest: dict[int, dict[str, Any]] = {int(t["id"]): t for t in page.tickets}
                gone = [t for t in latest.values() if t.get("status") == "deleted"]
                wanted = [t for t in latest.values() if t.get("status") != "deleted" and _flagged(t, selections)]
                skipped += len(latest) - len(gone) - len(wanted)
                deleted += len(gone)
                people = client.attach_people(wanted, page.users, page.organizations) if wanted else []
                records = [SourceRecord(str(t["id"]), t, settings.ticket_url(t["id"]), dispute=disputed(t))
                           for t in people]
                records += [SourceRecord(str(t["id"]), t, settings.ticket_url(t["id"]), deleted=True) for t in gone]
                cursor = page.after_cursor or cursor
                yield SourcePage(records, {"after_cursor": cursor}, http_calls=client.http_calls - calls,
                                 detail={"skipped_not_flagged": skipped, "deleted_in_source": deleted})
                calls = client.http_calls
        except ZendeskError as exc:
            raise source_error(exc) from exc

    def fetch_record(self, ctx: ConnectionContext, external_id: str) -> SourceRecord:
        if not re.fullmatch(r"[0-9]{1,19}", str(external_id).strip()):  # ASCII only: "²".isdigit() is True
            raise SourceError("error", f"A Zendesk ticket id is a number, not {external_id!r}.")
        settings = adapter_settings(ctx)
        try:
            ticket = make_client(ctx).get_ticket(int(external_id))
        except ZendeskError as exc:
            raise source_error(exc) from exc
        return SourceRecord(str(ticket["id"]), ticket, settings.ticket_url(ticket["id"]))

    def source_fields(self, ctx: ConnectionContext) -> set[str] | None:
        """Ticket attributes plus every ticket field id (as text), for live mapping validation."""
        try:
            ticket_fields = make_client(ctx).ticket_fields()
        except ZendeskError as exc:
            raise source_error(exc) from exc
        known = set(ZENDESK_TICKET_ATTRIBUTES)
        for item in ticket_fields:
            if item.get("id") is not None:
                known.add(str(item["id"]))
                known.add(f"custom_fields.{item['id']}")
        return known

    def mapping_placeholders(self, settings: Mapping[str, Any]) -> dict[str, str | int]:
        """``custom_fields.{name}`` in the mapping → the field id stored in ``field_ids``."""
        return {str(name): int(field_id) for name, field_id in (settings.get("field_ids") or {}).items()}

    # pushes --------------------------------------------------------------------------------------------------

    def receive_webhook(self, ctx: ConnectionContext, request: Request) -> WebhookReceipt:
        """Verify the signature (constant time, ±5 min), read the ticket id, key the event for de-duplication."""
        from flask import jsonify

        secret = ctx.settings.get("webhook_secret")
        if not secret:
            raise WebhookRefused(401, "webhook_not_configured", "This connection has no webhook signing secret "
                                 "yet: provision it, or set webhook_secret.")
        body = request.get_data(cache=True)
        signature = request.headers.get(SIGNATURE_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        try:
            verify_signature(secret, timestamp, body, signature)
            ticket_id = parse_webhook_event(body)
        except WebhookSignatureError as exc:
            raise WebhookRefused(401, exc.code, f"Webhook refused: {exc.message}.") from exc
        except WebhookPayloadError as exc:
            raise WebhookRefused(400, exc.code, f"Webhook refused: {exc.message}.") from exc
        invocation = request.headers.get(INVOCATION_ID_HEADER)
        if invocation:
            key = f"invocation:{invocation}"
        else:
            digest = hashlib.sha256(f"{signature}\n{timestamp}\n".encode() + body).hexdigest()
            key = f"signed:{digest}"
        event = {"event_key": key, "external_id": ticket_id,
                 "payload": {"ticket_id": ticket_id, "webhook_id": request.headers.get(WEBHOOK_ID_HEADER),
                             "invocation_id": invocation, "signed_at": timestamp}}

        def respond(stored: int) -> Any:
            return jsonify({"status": "stored" if stored else "duplicate", "ticket_id": ticket_id})

        return WebhookReceipt(events=[event], respond=respond)

    def records_for_event(self, ctx: ConnectionContext, event: InboundEvent) -> list[SourceRecord]:
        """The ticket a push names, with requester and organization; nothing when it is not flagged."""
        ticket_id = str(event.external_id or (event.payload or {}).get("ticket_id") or "")
        if not re.fullmatch(r"[0-9]{1,19}", ticket_id):  # e.g. "²", which isdigit() lets through: no ticket named
            return []
        settings = adapter_settings(ctx)
        try:
            ticket = make_client(ctx).get_ticket(int(ticket_id))
        except NotFound:
            return [SourceRecord(ticket_id, {"id": int(ticket_id), "status": "deleted"}, deleted=True)]
        except ZendeskError as exc:
            raise source_error(exc) from exc
        if ticket.get("status") == "deleted":
            return [SourceRecord(ticket_id, ticket, settings.ticket_url(ticket_id), deleted=True)]
        if not _flagged(ticket, _selections(ctx, settings)):
            return []
        return [SourceRecord(ticket_id, ticket, settings.ticket_url(ticket_id), dispute=disputed(ticket))]

    # write-back ----------------------------------------------------------------------------------------------

    def deliver(self, ctx: ConnectionContext, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """Post each change to its ticket (see ``_Deliverer``); one outcome per delivery, in order."""
        return _Deliverer(ctx, deliveries).run()

    # setup ---------------------------------------------------------------------------------------------------

    def provision(self, ctx: ConnectionContext) -> Provisioned:
        """Create (or find) the ticket fields, the webhook and its trigger(s); nothing is stored here."""
        from connector.provisioning import Provisioned

        settings = adapter_settings(ctx)
        client = make_client(ctx)
        try:
            field_ids, field_report = _provision_fields(client, ctx.settings.get("field_ids") or {})
            endpoint = f"{ctx.base_url}/webhooks/zendesk/{ctx.name}"
            webhook_id, webhook_action = _provision_webhook(client, f"License Exception Connector: {ctx.name}",
                                                            endpoint)
            secret = client.webhook_signing_secret(webhook_id)
            triggers = _provision_triggers(client, ctx.name, webhook_id, _selections(ctx, settings))
        except ZendeskError as exc:
            raise source_error(exc) from exc
        return Provisioned(
            settings={"field_ids": field_ids, "webhook_id": webhook_id,
                      "trigger_ids": [int(t["id"]) for t in triggers]},
            secrets={"webhook_secret": secret},
            summary={"fields": field_report,
                     "webhook": {"id": webhook_id, "endpoint": endpoint, "action": webhook_action},
                     "triggers": triggers},
        )


# --- provisioning steps -----------------------------------------------------------------------------------------

def _option_values(ticket_field: Mapping[str, Any]) -> set[str]:
    return {str(o.get("value")) for o in ticket_field.get("custom_field_options") or () if o.get("value")}


def _matching_field(name: str, spec: Mapping[str, Any], existing: Sequence[Mapping[str, Any]],
                    configured: Mapping[str, Any], taken: set[int]) -> Mapping[str, Any] | None:
    """An existing field to reuse: the configured id, else the same title and type, else (dropdowns) a field
    already carrying our option tags (Zendesk refuses to create a second field with the same tags)."""
    by_id = {int(f["id"]): f for f in existing if f.get("id") is not None}
    if configured.get(name) is not None and int(configured[name]) in by_id:
        return by_id[int(configured[name])]
    free = [f for f in existing if int(f["id"]) not in taken and f.get("removable", True)]
    title = str(spec["title"]).strip().lower()
    for candidate in free:
        if str(candidate.get("title") or "").strip().lower() == title and candidate.get("type") == spec["type"]:
            return candidate
    ours = {str(o["value"]) for o in spec.get("options") or ()}
    if ours:
        for candidate in free:
            if candidate.get("type") == spec["type"] and ours & _option_values(candidate):
                return candidate
    return None


def _provision_fields(client: ZendeskClient,
                      configured: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    existing = client.ticket_fields()
    field_ids: dict[str, int] = {}
    report: dict[str, dict[str, Any]] = {}
    for name, spec in ZENDESK_PLACEHOLDER_FIELDS.items():
        found = _matching_field(name, spec, existing, configured, set(field_ids.values()))
        if found is None:
            options = [(str(o["name"]), str(o["value"])) for o in spec.get("options") or ()]
            found = client.create_ticket_field(spec["type"], spec["title"], options or None,
                                               description=spec.get("description", ""))
            action = "created"
        else:
            action = "reused"
        field_ids[name] = int(found["id"])
        report[name] = {"id": int(found["id"]), "title": found.get("title"), "action": action}
    return field_ids, report


def _listed(client: ZendeskClient, path: str, key: str) -> Iterable[dict[str, Any]]:
    """Every item of a Zendesk list endpoint, following cursor (``links.next``) or offset (``next_page``)."""
    url: str | None = path
    while url:
        body = client.request("GET", url)
        yield from body.get(key) or ()
        meta, links = body.get("meta") or {}, body.get("links") or {}
        url = links.get("next") if meta.get("has_more") else body.get("next_page")


def _provision_webhook(client: ZendeskClient, name: str, endpoint: str) -> tuple[str, str]:
    for webhook in _listed(client, "/api/v2/webhooks", "webhooks"):
        if webhook.get("endpoint") == endpoint and webhook.get("id"):
            return str(webhook["id"]), "reused"
    return client.create_webhook(name, endpoint), "created"


def _notifies(trigger: Mapping[str, Any], webhook_id: str) -> bool:
    return any(a.get("field") == "notification_webhook" and (a.get("value") or [None])[0] == webhook_id
               for a in trigger.get("actions") or ())


def _provision_triggers(client: ZendeskClient, name: str, webhook_id: str,
                        selections: Sequence[ZendeskSettings]) -> list[dict[str, Any]]:
    """One trigger per selecting tag (the adapter's) and per ticket form, each posting the ticket id."""
    existing = list(_listed(client, "/api/v2/triggers.json", "triggers"))
    wanted: list[tuple[str, str, Any]] = []
    for selection in selections:
        if selection.tag:
            wanted.append(("tag", f"License Exception Connector ({name}): tag {selection.tag}", selection.tag))
        if selection.ticket_form_id:
            wanted.append(("form", f"License Exception Connector ({name}): form {selection.ticket_form_id}",
                           selection.ticket_form_id))
    report: list[dict[str, Any]] = []
    for kind, title, value in dict.fromkeys(wanted):
        found = next((t for t in existing if t.get("title") == title and _notifies(t, webhook_id)), None)
        if found is not None:
            report.append({"id": found["id"], "title": title, "action": "reused"})
            continue
        if kind == "tag":
            created = client.create_trigger(title, webhook_id, str(value))
        else:
            created = dict(client.request("POST", "/api/v2/triggers.json", json={"trigger": {
                "title": title, "active": True,
                "conditions": {"all": [{"field": "ticket_form_id", "operator": "is", "value": str(value)}],
                               "any": [{"field": "update_type", "operator": "is", "value": "Create"},
                                       {"field": "update_type", "operator": "is", "value": "Change"}]},
                "actions": [{"field": "notification_webhook", "value": [webhook_id, TRIGGER_WEBHOOK_BODY]}],
            }}).get("trigger") or {})
        report.append({"id": created.get("id"), "title": title, "action": "created"})
    return report


register(ZendeskKind())
