"""Operations that change governed requests (indico-style): check, change the models, flush, log the event.

They never commit: the caller (an HTTP request, a CLI command, a worker job) commits once, or rolls back on
any error, so a change and its audit event and deliveries are durable together or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from connector import audit, notifications, outbox
from connector.config import settings
from connector.db import allocate_keys, db, insert_many
from connector.decision_outcomes import verdict_for
from connector.feedback import with_feedback_link
from connector.governance import lifecycle, review
from connector.governance.communications import communications
from connector.governance.errors import InvalidInput, NotPermitted, StateConflict
from connector.governance.intake import IntakeResult, run_intake
from connector.governance.outcomes import Verdict
from connector.governance.policy import Policy
from connector.governance.schema import dump_fields, load_fields
from connector.governance.sla import SlaClock, due_at, sla_events
from connector.governance.states import CLOSED_STATES, DISPUTABLE_STATES, OPEN_STATES, RequestState
from connector.governance.triage import decide_track, derived_values, score_risk
from connector.models import (
    AuditEvent,
    Connection,
    Decision,
    Dispute,
    EntitlementBoundary,
    ExceptionRequest,
    Principal,
    Vote,
    new_public_ids,
    utcnow,
)
from connector.policy_store import current_policy
from connector.representation import current_entitlement, current_votes, entitlement_view, request_url, request_view

#: a request's human key is ``<CONNECTOR_KEY_PREFIX>-<KEY_OFFSET + pk>`` (``LEX-1001`` the first)
KEY_OFFSET = 1000


def subject(req: ExceptionRequest) -> str:
    return f"request:{req.id}"


def today() -> date:
    return utcnow().date()


def _typed(req: ExceptionRequest) -> dict[str, Any]:
    return load_fields(req.fields or {})


def evaluate(req: ExceptionRequest, typed: Mapping[str, Any], field_errors: Mapping[str, str],
             policy: Policy, now: datetime) -> IntakeResult:
    """Run intake, triage and risk; move the request between ``needs_info`` and ``in_review``."""
    values, result = assess(typed, field_errors, policy, now, req.completed_at, req.risk_overrides,
                            req.info_request)
    for name, value in values.items():
        setattr(req, name, value)
    return result


def _denormalized(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The columns copied out of the fields for listing and search."""
    return {"title": (stored.get("title") or "")[:255] or None, "category": stored.get("category"),
            "customer_name": (stored.get("customer") or {}).get("name")}


def request_key(pk: int, prefix: str | None = None) -> str:
    """The human key of the request stored under ``pk`` (``LEX-1042``): the one place it is built.
    ``prefix``: ``CONNECTOR_KEY_PREFIX``, when the caller has read it already (a page builds many keys)."""
    return f"{prefix or settings().key_prefix}-{KEY_OFFSET + pk}"


def dedupe_key(connection: Connection | None, external_id: str | None) -> str | None:
    """One request per source record: ``<connection id, or api>:<external id>``; none without an external id."""
    if external_id is None:
        return None
    return f"{connection.id if connection is not None else 'api'}:{external_id}"


def submit(
    *,
    typed: Mapping[str, Any],
    field_errors: Mapping[str, str] | None = None,
    source: str,
    actor: str,
    connection: Connection | None = None,
    external_id: str | None = None,
    external_url: str | None = None,
    mapping_version: int | None = None,
    raw_payload: Any = None,
) -> tuple[ExceptionRequest, str]:
    """Create or update the request for one record (the API's intake): ``submit_many`` with a page of one.

    Outcomes: ``created``, ``updated``, ``unchanged`` (nothing written), ``changed_after_decision``.
    """
    item = Submission(external_id, dict(typed), dump_fields(dict(typed)), dict(field_errors or {}), external_url,
                      raw_payload)
    page = _Page(source=source, connection=connection, mapping_version=mapping_version, actor=actor)
    [(outcome, _state, pk)] = page.take_in([item])
    req = db.session.get(ExceptionRequest, pk)
    assert req is not None
    if outcome == "created":  # nothing refers to a new request yet: its view need not query for these
        for name in ("votes", "decisions", "entitlements"):
            set_committed_value(req, name, [])
    return req, outcome


def _changed_paths(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key in sorted(set(old) | set(new)):
        path = f"{prefix}{key}"
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out.extend(_changed_paths(a, b, path + "."))
        elif a != b:
            out.append(path)
    return out


def _lock(req: ExceptionRequest) -> ExceptionRequest:
    """Re-read the request row FOR UPDATE so concurrent votes and decisions serialise (one statement: the lock
    and the fresh row)."""
    db.session.scalars(select(ExceptionRequest).where(ExceptionRequest.pk == req.pk).with_for_update()
                       .execution_options(populate_existing=True)).one()
    db.session.expire(req, ["votes", "decisions", "entitlements"])  # read again, after the lock, when used
    return req


def cast_vote(req: ExceptionRequest, principal: Principal, role: str, vote: str, rationale: str | None) -> Vote:
    _lock(req)
    review.check_vote(req.state, principal.committee_roles or [], role, vote, rationale)
    row = Vote(request=req, principal_id=principal.id, voter=principal.name, role=role, vote=vote,
               rationale=rationale, review_round=req.review_round, created_at=utcnow())
    db.session.add(row)
    audit.append(principal.name, "vote.cast", subject(req),
                 {"key": req.key, "role": role, "vote": vote, "rationale": rationale, "round": req.review_round})
    if vote == "request_info":
        req.info_request = {"question": rationale, "by": principal.name, "role": role, "at": utcnow().isoformat()}
        req.state = RequestState.NEEDS_INFO
        audit.append(principal.name, "request.info_requested", subject(req),
                     {"key": req.key, "question": rationale})
        publish(req, "info_requested", principal.name)
    db.session.flush()
    return row


def _communications(req: ExceptionRequest, policy: Policy, outcome: str, rationale: str, decided_by: str,
                    ent: EntitlementBoundary | None) -> tuple[str, str]:
    decision = {"outcome": outcome, "rationale": rationale, "decided_by": decided_by}
    return communications(policy, request_view(req), decision, entitlement_view(ent))


def _new_version(req: ExceptionRequest, ent: Mapping[str, Any], change: str, actor: str,
                 rationale: str | None) -> EntitlementBoundary:
    current = current_entitlement(req)
    version = (current.version + 1) if current else 1
    if current is not None and current.status == "active":
        current.status = "superseded"
    # an amendment or renewal keeps a scheduled revocation: only a new decision (after a dispute) replaces it
    carried = current.revoke_effective if current is not None and change in ("amended", "renewed") else None
    row = EntitlementBoundary(
        request=req, version=version, change=change, status="active", grants=dict(ent["grants"]),
        effective_from=ent["effective_from"], expires_at=ent["expires_at"],
        conditions=list(ent.get("conditions") or []), renewal_mode=ent["renewal"]["mode"],
        notice_days=int(ent["renewal"]["notice_days"]), success_metrics=list(ent.get("success_metrics") or []),
        supersedes=current.version if current else None, rationale=rationale, revoke_effective=carried,
        created_by=actor, created_at=utcnow())
    db.session.add(row)
    return row


def _record_decision(req: ExceptionRequest, principal_name: str, principal_id: int | None, outcome: str,
                     rationale: str, ent: EntitlementBoundary | None, policy: Policy,
                     verdict: Verdict | None = None) -> Decision:
    db.session.flush()
    summary, note = _communications(req, policy, outcome, rationale, principal_name, ent)
    summary = with_feedback_link(summary, req, len(req.decisions) + 1)
    now = utcnow()
    verdict = verdict or Verdict(None)
    dec = Decision(request=req, outcome=outcome, rationale=rationale, principal_id=principal_id,
                   decided_by=principal_name, decided_at=now, customer_summary=summary, internal_note=note,
                   entitlement_version=ent.version if ent else None, review_round=req.review_round,
                   bespoke=None if verdict.standard is None else verdict.bespoke,
                   departures=list(verdict.departures))
    db.session.add(dec)
    return dec


def _require_chair(principal: Principal, policy: Policy, action: str) -> None:
    if policy.chair not in (principal.committee_roles or []):
        raise NotPermitted("chair_only", f"Only the chair ({policy.chair}) can {action}.", {"chair": policy.chair})


def decide(req: ExceptionRequest, principal: Principal, outcome: str, rationale: str,
           entitlement: Mapping[str, Any] | None) -> Decision:
    _lock(req)
    policy = current_policy()
    review.check_decision(state=req.state, track=req.track, band=req.risk_band,
                          holder_roles=principal.committee_roles or [], outcome=outcome,
                          votes=current_votes(req), policy=policy)
    ent_row, ent = None, None
    if outcome not in review.APPROVALS and entitlement:
        raise InvalidInput("entitlement_on_denial", "A denial grants nothing: leave out 'entitlement' (nothing was "
                           "changed).", {"fields": {"entitlement": ["Only approvals carry entitlement boundaries."]}})
    if outcome in review.APPROVALS:
        ent = review.validate_entitlement(entitlement, policy, today(), outcome=outcome)
        ent_row = _new_version(req, ent, "approved", principal.name, rationale)
    else:
        current = current_entitlement(req)
        if current is not None and current.status == "active":
            ent_row = _end_version(req, current, "revoked", principal.name, rationale, today())
    now = utcnow()
    req.state = RequestState.APPROVED if outcome in review.APPROVALS else RequestState.DENIED
    req.outcome, req.decided_at = outcome, now
    req.first_decided_at = req.first_decided_at or now
    verdict = verdict_for(req, policy, outcome, ent)
    dec = _record_decision(req, principal.name, principal.id, outcome, rationale,
                           ent_row if outcome in review.APPROVALS else None, policy, verdict)
    audit.append(principal.name, "decision.recorded", subject(req), {
        "key": req.key, "outcome": outcome, "rationale": rationale, "round": req.review_round,
        "entitlement_version": ent_row.version if ent_row else None, "bespoke": dec.bespoke,
        "departures": dec.departures})
    publish(req, "decided", principal.name)
    notifications.decided(req, dec)
    db.session.flush()
    return dec


def _end_version(req: ExceptionRequest, current: EntitlementBoundary, change: str, actor: str,
                 rationale: str | None, when: date) -> EntitlementBoundary:
    """A final version that records the end (revoked or expired) of the boundaries in force."""
    ent = {"grants": current.grants, "effective_from": current.effective_from,
           "expires_at": max(when, current.effective_from), "conditions": current.conditions,
           "renewal": {"mode": current.renewal_mode, "notice_days": current.notice_days},
           "success_metrics": current.success_metrics}
    row = _new_version(req, ent, change, actor, rationale)
    row.status = change
    return row


def amend(req: ExceptionRequest, principal: Principal, rationale: str,
          entitlement: Mapping[str, Any] | None) -> EntitlementBoundary:
    _lock(req)
    policy = current_policy()
    _require_chair(principal, policy, "amend an exception")
    lifecycle.require_state("amend", req.state, (RequestState.APPROVED,))
    ent = review.validate_entitlement(entitlement, policy, today(), outcome=req.outcome or "approved")
    lifecycle.require_change(_boundaries(req), ent)
    row = _new_version(req, ent, "amended", principal.name, rationale)
    verdict = verdict_for(req, policy, req.outcome or "approved", ent)
    dec = _record_decision(req, principal.name, principal.id, req.outcome or "approved", rationale, row, policy,
                           verdict)
    audit.append(principal.name, "entitlement.amended", subject(req),
                 {"key": req.key, "version": row.version, "supersedes": row.supersedes, "rationale": rationale,
                  "revocation_scheduled": row.revoke_effective, "bespoke": dec.bespoke,
                  "departures": dec.departures})
    publish(req, "amended", principal.name)
    db.session.flush()
    return row


def _boundaries(req: ExceptionRequest) -> dict[str, Any]:
    """The current entitlement's boundaries, shaped as a decision body's (what an amendment or renewal changes)."""
    current = current_entitlement(req)
    assert current is not None
    return {"grants": current.grants, "effective_from": current.effective_from, "expires_at": current.expires_at,
            "conditions": current.conditions,
            "renewal": {"mode": current.renewal_mode, "notice_days": current.notice_days},
            "success_metrics": current.success_metrics}


def renew(req: ExceptionRequest, principal: Principal, rationale: str, expires_at: date) -> EntitlementBoundary:
    _lock(req)
    policy = current_policy()
    _require_chair(principal, policy, "renew an exception")
    lifecycle.require_state("renew", req.state, (RequestState.APPROVED, RequestState.EXPIRED))
    ent = lifecycle.renewal(_boundaries(req), expires_at, policy, today())
    row = _new_version(req, ent, "renewed", principal.name, rationale)
    req.state = RequestState.APPROVED
    _record_decision(req, principal.name, principal.id, req.outcome or "approved", rationale, row, policy)
    audit.append(principal.name, "entitlement.renewed", subject(req),
                 {"key": req.key, "version": row.version, "expires_at": expires_at, "rationale": rationale,
                  "revocation_scheduled": row.revoke_effective})
    publish(req, "renewed", principal.name)
    db.session.flush()
    return row


def revoke(req: ExceptionRequest, principal: Principal, reason: str, effective: date | None) -> EntitlementBoundary:
    _lock(req)
    policy = current_policy()
    _require_chair(principal, policy, "revoke an exception")
    lifecycle.require_state("revoke", req.state, (RequestState.APPROVED,))
    current = current_entitlement(req)
    assert current is not None
    when = lifecycle.revocation_date(effective, {"effective_from": current.effective_from}, today())
    if when > today():
        current.revoke_effective = when
        current.rationale = reason
        audit.append(principal.name, "entitlement.revocation_scheduled", subject(req),
                     {"key": req.key, "version": current.version, "effective": when, "reason": reason})
        db.session.flush()
        return current
    row = _end_version(req, current, "revoked", principal.name, reason, when)
    req.state = RequestState.REVOKED
    audit.append(principal.name, "entitlement.revoked", subject(req),
                 {"key": req.key, "version": row.version, "effective": when, "reason": reason})
    publish(req, "revoked", principal.name)
    db.session.flush()
    return row


def dispute(req: ExceptionRequest, actor: str, reason: str, channel: str = "api") -> Dispute:
    """Reopen review of a decided request; the new round needs fresh votes."""
    _lock(req)
    lifecycle.require_state("dispute", req.state, DISPUTABLE_STATES)
    if not reason.strip():
        raise InvalidInput("reason_required", "Say why the decision is disputed.",
                           {"fields": {"reason": ["Required."]}})
    policy = current_policy()
    now = utcnow()
    row = Dispute(request_pk=req.pk, reason=reason, raised_by=actor, channel=channel, created_at=now)
    db.session.add(row)
    previous = req.state
    req.disputes += 1
    req.review_round += 1
    req.state = RequestState.IN_REVIEW
    req.reminded_at = req.escalated_at = None
    req.due_at = due_at(now, req.track or "standard", policy.sla)
    audit.append(actor, "request.disputed", subject(req), {
        "key": req.key, "reason": reason, "channel": channel, "previous_state": previous,
        "round": req.review_round})
    publish(req, "disputed", actor)
    notifications.request_routed(req, policy)
    db.session.flush()
    return row


def withdraw(req: ExceptionRequest, actor: str, reason: str) -> None:
    _lock(req)
    lifecycle.require_state("withdraw", req.state, OPEN_STATES)
    previous = req.state
    req.state = RequestState.WITHDRAWN
    audit.append(actor, "request.withdrawn", subject(req),
                 {"key": req.key, "reason": reason, "previous_state": previous})
    publish(req, "withdrawn", actor)
    db.session.flush()


def override_risk(req: ExceptionRequest, principal: Principal, dimension: str, value: int,
                  rationale: str) -> None:
    """A reviewer replaces one risk dimension, with a rationale (audited); the score is recomputed."""
    _lock(req)
    if not principal.committee_roles:
        raise NotPermitted("committee_role_required", "Only committee members override risk.")
    if req.state not in OPEN_STATES:
        raise StateConflict("not_open", f"Risk is fixed once a request is {req.state}.", {"state": req.state})
    overrides = dict(req.risk_overrides or {})
    overrides[dimension] = {"value": value, "rationale": rationale, "by": principal.name}
    req.risk_overrides = overrides
    policy = current_policy()
    previous = {"score": req.risk_score, "band": req.risk_band}
    evaluate(req, _typed(req), (req.intake or {}).get("errors") or {}, policy, utcnow())
    audit.append(principal.name, "risk.overridden", subject(req), {
        "key": req.key, "dimension": dimension, "value": value, "rationale": rationale,
        "previous": previous, "now": {"score": req.risk_score, "band": req.risk_band}})
    db.session.flush()


def publish(req: ExceptionRequest, change: str, actor: str) -> None:
    """Every state or version change fans out to the source and to billing through the outbox."""
    outbox.enqueue_for_change(req, change, actor)


# --- periodic jobs (called by the worker) -------------------------------------------------------------------

def run_sla(now: datetime | None = None, actor: str = "worker") -> dict[str, int]:
    """Send SLA reminders and escalate overdue requests (each once)."""
    now = now or utcnow()
    policy = current_policy()
    counts = {"reminders": 0, "escalations": 0}
    rows = db.session.scalars(
        select(ExceptionRequest).where(ExceptionRequest.state == RequestState.IN_REVIEW,
                                       ExceptionRequest.due_at.is_not(None),
                                       ExceptionRequest.escalated_at.is_(None))
    ).all()
    for req in rows:
        assert req.due_at is not None and req.completed_at is not None
        clock = SlaClock(completed_at=req.completed_at, due_at=req.due_at, reminded_at=req.reminded_at,
                         escalated_at=req.escalated_at, decided_at=None)
        for ev in sla_events(clock, now, policy.sla):
            if ev.kind == "sla.reminder":
                req.reminded_at = now
                counts["reminders"] += 1
            else:
                req.escalated_at = now
                counts["escalations"] += 1
                _notify_escalation(req, ev.detail)
            audit.append(actor, ev.kind, subject(req), {"key": req.key, **ev.detail})
            notifications.sla_event(req, ev.kind, ev.detail)
    db.session.flush()
    return counts


def _revocation_reason(req: ExceptionRequest, ent: EntitlementBoundary) -> str | None:
    """The reason given when the revocation in force was last scheduled, from its audit event (amendments and
    renewals carry the date, with their own rationale; a chair may schedule the same date again, reworded)."""
    if ent.revoke_effective is None:
        return ent.rationale
    effective = ent.revoke_effective.isoformat()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.subject == subject(req),
                                                         AuditEvent.action == "entitlement.revocation_scheduled")
                                .order_by(AuditEvent.seq.desc()))
    for event in events:
        if (event.data or {}).get("effective") == effective:
            return str(event.data.get("reason") or "") or ent.rationale
    return ent.rationale


def _notify_escalation(req: ExceptionRequest, detail: Mapping[str, Any]) -> None:
    """Tell the policy's escalation contact (by e-mail, through the outbox) that a decision is overdue."""
    contact = str(detail.get("escalation_contact") or "")
    body = (f"{req.key} \"{req.title or '(no title)'}\" is overdue: the decision was due {detail.get('due_at')} "
            f"({detail.get('overdue_by_hours')} hours ago).\n\nTrack: {req.track}; risk band: {req.risk_band}.\n"
            f"Open it: {request_url(req)}\n")
    outbox.enqueue_email(req, contact, f"[{req.key}] Decision overdue", body, "escalated")


def run_expiry(now: datetime | None = None, actor: str = "worker") -> dict[str, int]:
    """Expire, auto-renew, apply scheduled revocations and send expiry notices."""
    day = (now or utcnow()).date()
    policy = current_policy()
    counts = {"expired": 0, "renewed": 0, "revoked": 0, "notices": 0}
    rows = db.session.scalars(select(ExceptionRequest).where(ExceptionRequest.state == RequestState.APPROVED)).all()
    for req in rows:
        ent = current_entitlement(req)
        if ent is None:
            continue
        if ent.revoke_effective is not None and ent.revoke_effective <= day:
            _end_version(req, ent, "revoked", actor, _revocation_reason(req, ent), ent.revoke_effective)
            req.state = RequestState.REVOKED
            audit.append(actor, "entitlement.revoked", subject(req),
                         {"key": req.key, "effective": ent.revoke_effective, "scheduled": True})
            publish(req, "revoked", actor)
            counts["revoked"] += 1
        elif lifecycle.expiry_due(ent.expires_at, day):
            if ent.renewal_mode == "auto":
                base = {"grants": ent.grants, "effective_from": ent.effective_from, "expires_at": ent.expires_at,
                        "conditions": ent.conditions,
                        "renewal": {"mode": ent.renewal_mode, "notice_days": ent.notice_days},
                        "success_metrics": ent.success_metrics}
                new_expiry = lifecycle.auto_renewal_expiry(base, policy)
                row = _new_version(req, {**base, "expires_at": new_expiry}, "renewed", actor, "automatic renewal")
                audit.append(actor, "entitlement.renewed", subject(req),
                             {"key": req.key, "version": row.version, "expires_at": new_expiry, "automatic": True})
                publish(req, "renewed", actor)
                counts["renewed"] += 1
            else:
                _end_version(req, ent, "expired", actor, "expired", ent.expires_at)
                req.state = RequestState.EXPIRED
                audit.append(actor, "entitlement.expired", subject(req),
                             {"key": req.key, "expires_at": ent.expires_at})
                publish(req, "expired", actor)
                counts["expired"] += 1
        elif ent.notice_sent_at is None and lifecycle.notice_due(ent.expires_at, ent.notice_days, day):
            ent.notice_sent_at = utcnow()
            audit.append(actor, "entitlement.expiry_notice", subject(req),
                         {"key": req.key, "expires_at": ent.expires_at, "renewal": ent.renewal_mode})
            notifications.expiring(req, ent)
            counts["notices"] += 1
        db.session.flush()
    return counts


# --- intake: one path for a page of records or one (the sync hot path) --------------------------------------------

@dataclass
class Submission:
    """One mapped record, ready for intake."""

    external_id: str | None
    typed: dict[str, Any]
    stored: dict[str, Any]
    errors: dict[str, str]
    external_url: str | None = None
    raw: Any = None


def fast_hash(stored: Mapping[str, Any], errors: Mapping[str, str]) -> str:
    """The content hash of a mapped record: an unchanged record is recognised without being compared."""
    return hashlib.sha256(orjson.dumps([stored, errors], option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


_due_cache: dict[tuple[datetime, str, int, int], datetime] = {}


def _due_at(completed_at: datetime, track: str, policy: Policy) -> datetime:
    """``due_at`` memoised: a sync page completes many requests at the same moment on the same track."""
    key = (completed_at, track, policy.version, id(policy))
    cached = _due_cache.get(key)
    if cached is None:
        if len(_due_cache) > 256:
            _due_cache.clear()
        cached = _due_cache[key] = due_at(completed_at, track, policy.sla)
    return cached


def assess(typed: Mapping[str, Any], errors: Mapping[str, str], policy: Policy, now: datetime,
           completed_at: datetime | None = None, overrides: Mapping[str, Any] | None = None,
           info_request: Any = None) -> tuple[dict[str, Any], IntakeResult]:
    """Intake, triage and risk as column values (no ORM object needed)."""
    result = run_intake(typed, policy, errors)
    derived = derived_values(typed, policy)
    track = decide_track(typed, policy, derived)
    risk = score_risk(typed, policy, overrides or None, derived)
    values: dict[str, Any] = {
        "intake": result.to_dict(), "policy_version": policy.version, "track": track.track,
        "risk": {"score": risk.score, "band": risk.band, "dimensions": risk.dimensions,  # fresh: no copies
                 "explanation": risk.explanation, "track_reasons": track.reasons}, "risk_score": risk.score,
        "risk_band": risk.band, "state": RequestState.NEEDS_INFO, "completed_at": completed_at, "due_at": None,
    }
    if result.complete and info_request is None:
        values["completed_at"] = completed_at or now
        values["due_at"] = _due_at(values["completed_at"], track.track, policy)
        values["state"] = RequestState.IN_REVIEW
    return values, result


def submit_many(items: list[Submission], *, source: str, connection: Connection, mapping_version: int | None,
                actor: str) -> list[tuple[str, str]]:
    """Intake for a page of records with a handful of statements: one lookup, bulk inserts, one audit append.

    Each record's outcome and its request's state, as ``submit`` gives them (``unchanged``: no state).
    """
    page = _Page(source=source, connection=connection, mapping_version=mapping_version, actor=actor)
    return [(outcome, state) for outcome, state, _ in page.take_in(items)]


#: an outcome, the request's state after it ("" when unchanged) and the request's primary key
_Taken = tuple[str, str, int]


@dataclass
class _Page:
    """Records from one source (a sync page, or the API's one record) taken in together.

    New records are created in bulk (keys allocated up front, one insert, one audit append, one outbox insert);
    records already known are left alone when their content hash is the same, else updated one by one under a
    row lock. A record repeated within the page is taken in after the page's new requests exist, so it updates
    the request its first occurrence created.
    """

    source: str
    connection: Connection | None
    mapping_version: int | None
    actor: str
    policy: Policy = field(default_factory=current_policy)
    now: datetime = field(default_factory=utcnow)

    def take_in(self, items: list[Submission]) -> list[_Taken]:
        """Each item's outcome, in the items' order."""
        keys = [dedupe_key(self.connection, item.external_id) for item in items]
        known = _stored_hashes(key for key in keys if key is not None)
        digests = [fast_hash(item.stored, item.errors) for item in items]
        taken: dict[int, _Taken] = {}
        fresh, repeats = _new_records(keys, known)
        for index, key in enumerate(keys):
            if key is not None and key in known:
                taken[index] = self._take_known(known[key], items[index], digests[index])
        for index, pk, state in self._create([items[i] for i in fresh], [keys[i] for i in fresh],
                                             [digests[i] for i in fresh], fresh):
            taken[index] = ("created", state, pk)
            if (key := keys[index]) is not None:
                known[key] = (pk, digests[index])
        for index in repeats:
            taken[index] = self._take_known(known[str(keys[index])], items[index], digests[index])
        return [taken[index] for index in range(len(items))]

    def _take_known(self, stored: tuple[int, str | None], item: Submission, digest: str) -> _Taken:
        pk, content_hash = stored
        if content_hash == digest:
            return "unchanged", "", pk
        req = db.session.scalar(select(ExceptionRequest).where(ExceptionRequest.pk == pk).with_for_update())
        assert req is not None
        if req.content_hash == digest:  # changed the same way since it was looked up
            return "unchanged", "", pk
        if req.state in CLOSED_STATES:
            _hold_change(req, item, digest, self.actor, self.now)
            return "changed_after_decision", req.state, pk
        _update(req, item, digest, self)
        return "updated", req.state, pk

    def _create(self, items: list[Submission], keys: list[str | None], digests: list[str],
                indexes: list[int]) -> list[tuple[int, int, str]]:
        """Create the requests for ``items`` in a few statements; (index, pk, state) for each."""
        if not items:
            return []
        pks = allocate_keys(ExceptionRequest.__tablename__, "pk", len(items))
        public_ids = new_public_ids(len(items))  # one random read for the page's new requests
        prefix = settings().key_prefix
        rows: list[dict[str, Any]] = []
        events: list[tuple[str, str, str | None, Mapping[str, Any] | None]] = []
        for item, dedupe, digest, pk, public_id in zip(items, keys, digests, pks, public_ids, strict=True):
            values, _ = assess(item.typed, item.errors, self.policy, self.now)
            row = self._new_row(item, dedupe, digest, values)
            row.update(pk=pk, id=public_id, key=request_key(pk, prefix))
            rows.append(row)
            events.append((self.actor, "request.created", f"request:{public_id}", _created_event(row)))
        insert_many(ExceptionRequest.__table__, rows)  # one executemany for the page, human keys included
        audit.append_many(events, at=self.now)
        if self.connection is not None:
            outbox.enqueue_many(pks, f"connection:{self.connection.name}", "created", new_requests=True)
        notifications.requests_routed([row["pk"] for row in rows if row["state"] == RequestState.IN_REVIEW],
                                      self.policy)
        return [(index, row["pk"], row["state"]) for index, row in zip(indexes, rows, strict=True)]

    def _new_row(self, item: Submission, dedupe: str | None, digest: str, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "source": self.source, "connection_id": self.connection.id if self.connection is not None else None,
            "external_id": item.external_id, "external_url": item.external_url, "dedupe_key": dedupe,
            "mapping_version": self.mapping_version, "raw_payload": item.raw, "fields": item.stored,
            "content_hash": digest, **_denormalized(item.stored), "risk_overrides": {}, "review_round": 1,
            "disputes": 0, "changed_after_decision": False, "created_at": self.now, "updated_at": self.now,
            **values,
        }


def _new_records(keys: list[str | None], known: Mapping[str, Any]) -> tuple[list[int], list[int]]:
    """Of the records not stored yet: the first occurrence of each (or any without a key), which are created
    together, and any later occurrence of one of them in the same page, taken in once it exists."""
    fresh: list[int] = []
    repeats: list[int] = []
    firsts: set[str] = set()
    for index, key in enumerate(keys):
        if key is None:
            fresh.append(index)
        elif key not in known:
            (repeats if key in firsts else fresh).append(index)
            firsts.add(key)
    return fresh, repeats


def _stored_hashes(keys: Iterable[str]) -> dict[str, tuple[int, str | None]]:
    """The stored requests among ``keys`` (dedupe keys): their primary key and content hash."""
    wanted = list(keys)
    known: dict[str, tuple[int, str | None]] = {}
    for start in range(0, len(wanted), 500):
        rows = db.session.execute(select(ExceptionRequest.dedupe_key, ExceptionRequest.pk,
                                         ExceptionRequest.content_hash)
                                  .where(ExceptionRequest.dedupe_key.in_(wanted[start:start + 500])))
        known.update({str(row[0]): (row[1], row[2]) for row in rows})
    return known


def _created_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """``request.created``'s data: what intake, triage and risk made of the new request (the audit log copies
    what it records, so the row's own intake result can be handed over)."""
    return {"key": row["key"], "source": row["source"], "external_id": row["external_id"], "state": row["state"],
            "track": row["track"], "risk": {"score": row["risk_score"], "band": row["risk_band"]},
            "intake": row["intake"], "mapping_version": row["mapping_version"]}


def _hold_change(req: ExceptionRequest, item: Submission, digest: str, actor: str, now: datetime) -> None:
    """A decided (or ended) request keeps its fields: the new ones wait as its pending change, for a reviewer."""
    changed = _changed_paths(req.fields or {}, item.stored)
    req.pending_change = {"fields": item.stored, "errors": item.errors, "received_at": now.isoformat()}
    req.changed_after_decision = True
    req.content_hash = digest
    req.raw_payload = item.raw if item.raw is not None else req.raw_payload
    audit.append(actor, "request.changed_after_decision", subject(req),
                 {"key": req.key, "state": req.state, "changed": changed})


def _update(req: ExceptionRequest, item: Submission, digest: str, page: _Page) -> None:
    """An open request takes the record's new fields; intake, triage and risk run again."""
    changed = _changed_paths(req.fields or {}, item.stored)
    previous_state = req.state
    req.fields, req.content_hash = item.stored, digest
    req.external_url = item.external_url or req.external_url
    req.mapping_version = page.mapping_version if page.mapping_version is not None else req.mapping_version
    if item.raw is not None:
        req.raw_payload = item.raw
    req.info_request = None  # the requester answered by changing the record
    for name, value in _denormalized(item.stored).items():
        setattr(req, name, value)
    result = evaluate(req, item.typed, item.errors, page.policy, page.now)
    audit.append(page.actor, "request.updated", subject(req), {
        "key": req.key, "changed": changed, "state": req.state, "previous_state": previous_state,
        "intake": result.to_dict()})
    if page.connection is not None:
        publish(req, "updated", page.actor)
    if req.state == RequestState.IN_REVIEW and previous_state != RequestState.IN_REVIEW:
        notifications.request_routed(req, page.policy)
