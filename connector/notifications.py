"""Committee notifications: who is told about what, how, and when (issue 19, item 5).

A preference belongs to a principal (a person's own: their channels, events and whether they get each message at
once or in one daily digest) or to a committee role (a team channel, always immediate). Events: a request routed
to a role, an SLA reminder, an escalation, a decision on a request one voted on, an exception one owns expiring.

Everything goes out through the outbox (``connector.outbox.enqueue_notification``), so a message is durable with
the change that caused it and retried like any delivery; e-mail rides the existing ``email`` target, Slack and
Teams incoming webhooks get targets of their own (``slack:<preference id>``, ``teams:<preference id>``; the
senders are ``connector.notification_senders``). A webhook URL is a secret: it is stored encrypted, read only by
the sender, and never written to a payload, a log or the audit log.

A channel the policy marks external (``notifications.external_channels``) never receives a message's internal
part (the rationale and the internal note of a decision).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from connector import audit, outbox
from connector.config import settings
from connector.db import db
from connector.governance.errors import InvalidInput
from connector.governance.policy import COMMITTEE_ROLES, NOTIFICATION_CHANNELS, Policy
from connector.models import (
    Decision,
    EntitlementBoundary,
    ExceptionRequest,
    NotificationDigest,
    NotificationItem,
    NotificationPreference,
    Principal,
    UserAccount,
    Vote,
    utcnow,
)
from connector.policy_store import current_policy
from connector.representation import request_url

EVENTS = ("routed", "reminder", "escalation", "decision", "expiring")
EVENT_TEXT = {
    "routed": "a request routed to your role",
    "reminder": "an SLA reminder",
    "escalation": "an escalation",
    "decision": "a decision on a request you voted on",
    "expiring": "an exception you own expiring",
}
CHANNELS = NOTIFICATION_CHANNELS
WEBHOOK_CHANNELS = ("slack", "teams")
MODES = ("immediate", "digest")
#: the outbox ``change`` of every notification (never superseded: each one is a message of its own)
CHANGE_PREFIX = outbox.NOTIFY_PREFIX
MAX_WEBHOOK_URL = 2000


# --- messages (pure) -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    """One notification, rendered once for every channel: ``lines`` may go anywhere, ``internal`` only to
    channels the policy does not mark external."""

    event: str
    key: str
    headline: str
    url: str
    lines: tuple[str, ...] = ()
    internal: tuple[str, ...] = field(default=())

    def for_channel(self, external: bool) -> Message:
        return Message(self.event, self.key, self.headline, self.url, self.lines, () if external else self.internal)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "lines": list(self.lines), "internal": list(self.internal)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        return cls(str(data["event"]), str(data["key"]), str(data["headline"]), str(data["url"]),
                   tuple(str(x) for x in data.get("lines") or ()), tuple(str(x) for x in data.get("internal") or ()))

    def text(self) -> str:
        """The message as plain text (e-mail, and the fallback of chat cards)."""
        body = [self.headline, *self.lines, *(f"Internal: {line}" for line in self.internal), f"Open it: {self.url}"]
        return "\n".join(body)


def _title(req: ExceptionRequest) -> str:
    return f"{req.key} \"{req.title or '(no title)'}\""


def routed_message(req: ExceptionRequest, roles: Sequence[str]) -> Message:
    return Message("routed", str(req.key), f"{_title(req)} needs a review by {', '.join(roles)}",
                   request_url(req), (f"Track: {req.track}; risk band: {req.risk_band}; due {_when(req.due_at)}.",))


def reminder_message(req: ExceptionRequest, detail: Mapping[str, Any]) -> Message:
    return Message("reminder", str(req.key), f"Reminder: {_title(req)} is due {detail.get('due_at')}",
                   request_url(req), (f"{detail.get('business_hours_left')} business hours left.",))


def escalation_message(req: ExceptionRequest, detail: Mapping[str, Any]) -> Message:
    return Message("escalation", str(req.key), f"Overdue: {_title(req)} was due {detail.get('due_at')}",
                   request_url(req), (f"Overdue by {detail.get('overdue_by_hours')} hours; track {req.track}, risk "
                                      f"band {req.risk_band}.",))


def decision_message(req: ExceptionRequest, dec: Decision) -> Message:
    """The outcome and the customer summary for everyone; the rationale and the internal note internally only."""
    return Message("decision", str(req.key), f"Decided: {_title(req)} was {dec.outcome.replace('_', ' ')} by "
                   f"{dec.decided_by}", request_url(req), (f"Customer summary: {dec.customer_summary.strip()}",),
                   (f"Rationale: {dec.rationale.strip()}", f"Internal note: {dec.internal_note.strip()}"))


def expiring_message(req: ExceptionRequest, ent: EntitlementBoundary) -> Message:
    return Message("expiring", str(req.key), f"Expiring: {_title(req)} ends on {ent.expires_at.isoformat()}",
                   request_url(req), (f"Renewal: {ent.renewal_mode}; version {ent.version}.",))


def _when(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "(no due date)"


def digest_heading(count: int, day: date) -> str:
    return f"Your license exception digest for {day.isoformat()}: {count} notification{'s' if count != 1 else ''}"


def slack_payload(messages: Sequence[Message], heading: str | None = None) -> dict[str, Any]:
    """Slack's incoming-webhook body: ``text`` (the notification's fallback) and Block Kit ``blocks``."""
    blocks: list[dict[str, Any]] = []
    if heading:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": heading[:150]}})
    for message in messages:
        body = "\n".join([f"*<{message.url}|{_mrkdwn(message.headline)}>*", *map(_mrkdwn, message.lines),
                          *(f"_Internal:_ {_mrkdwn(line)}" for line in message.internal)])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}})
    text = heading or (messages[0].headline if messages else "")
    return {"text": text, "blocks": blocks[:50]}


def _mrkdwn(text: str) -> str:
    """Slack's three control characters escaped, so a title cannot forge a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_payload(messages: Sequence[Message], heading: str | None = None) -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook MessageCard: a section and an "Open" action per notification."""
    sections = [{"activityTitle": message.headline, "text": "\n\n".join(
        [*message.lines, *(f"Internal: {line}" for line in message.internal)]),
        "potentialAction": [{"@type": "OpenUri", "name": f"Open {message.key}",
                             "targets": [{"os": "default", "uri": message.url}]}]} for message in messages]
    summary = heading or (messages[0].headline if messages else "")
    return {"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": summary[:250],
            "title": summary, "sections": sections}


def email_parts(messages: Sequence[Message], heading: str | None = None) -> tuple[str, str]:
    """Subject and body of a notification e-mail."""
    if heading is None and len(messages) == 1:
        return f"[{messages[0].key}] {messages[0].headline}", messages[0].text() + "\n"
    return heading or "License exception notifications", "\n\n".join(m.text() for m in messages) + "\n"


def payload_for(channel: str, to: str, messages: Sequence[Message], heading: str | None = None) -> dict[str, Any]:
    """What the outbox row of ``channel`` carries (an e-mail's address, never a webhook URL)."""
    if channel == "slack":
        return slack_payload(messages, heading)
    if channel == "teams":
        return teams_payload(messages, heading)
    subject, body = email_parts(messages, heading)
    return {"to": to, "subject": subject, "body": body}


# --- preferences ---------------------------------------------------------------------------------------------

def validate_webhook_url(channel: str, url: str) -> str:
    """An https URL (http only to a loopback address: a local receiver), or a field-level 422."""
    url = url.strip()
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if len(url) > MAX_WEBHOOK_URL or not host or not (parts.scheme == "https" or (parts.scheme == "http"
                                                                                     and loopback)):
        raise InvalidInput("invalid_webhook", f"The {channel} webhook must be an https:// URL.",
                           {"fields": {f"webhooks.{channel}": ["Give the incoming webhook's https:// URL."]}})
    return url


def preference_view(pref: NotificationPreference | None, *, principal: Principal | None = None,
                    role: str | None = None) -> dict[str, Any]:
    """A preference as shown: which webhooks are set, never their URLs."""
    webhooks = (pref.webhooks or {}) if pref is not None else {}
    view: dict[str, Any] = {
        "channels": list(pref.channels) if pref else [], "events": list(pref.events) if pref else [],
        "mode": pref.mode if pref else "immediate", "email": pref.email if pref else None,
        "webhooks": {channel: bool(webhooks.get(channel)) for channel in WEBHOOK_CHANNELS},
        "updated_at": pref.updated_at.isoformat() if pref else None, "updated_by": pref.updated_by if pref else None,
    }
    if principal is not None:
        view["principal"] = principal.name
        view["default_email"] = _account_email(principal.id)
    if role is not None:
        view["role"] = role
        view["mode"] = "immediate"
    return view


def _account_email(principal_id: int) -> str | None:
    return db.session.scalar(select(UserAccount.email).where(UserAccount.principal_id == principal_id))


def preference_of(*, principal: Principal | None = None, role: str | None = None) -> NotificationPreference | None:
    if principal is not None:
        return db.session.scalar(select(NotificationPreference).where(NotificationPreference.principal_id
                                                                      == principal.id))
    return db.session.scalar(select(NotificationPreference).where(NotificationPreference.role == role))


def save_preference(body: Mapping[str, Any], actor: str, *, principal: Principal | None = None,
                    role: str | None = None) -> NotificationPreference:
    """Replace the preference of ``principal`` or ``role`` (shaped by the caller's schema, checked here before
    anything changes); a webhook left out keeps its stored URL, ``""`` removes it. Audited without any URL."""
    if role is not None and role not in COMMITTEE_ROLES:
        raise InvalidInput("unknown_role", f"No committee role {role!r}.", {"fields": {"role": [
            f"One of: {', '.join(COMMITTEE_ROLES)}."]}})
    pref = preference_of(principal=principal, role=role)
    webhooks = _merged_webhooks(pref.webhooks if pref is not None else None, body.get("webhooks") or {})
    channels = sorted(set(body.get("channels") or ()), key=CHANNELS.index)
    email = (body.get("email") or "").strip() or None
    _check_reachable(channels, webhooks, email, principal)
    if pref is None:
        pref = NotificationPreference(principal_id=principal.id if principal else None, role=role, webhooks=None)
        db.session.add(pref)
    pref.channels, pref.events = channels, sorted(set(body.get("events") or ()), key=EVENTS.index)
    pref.mode = "immediate" if role is not None else str(body.get("mode") or "immediate")
    pref.email, pref.webhooks = email, webhooks or None
    pref.updated_by, pref.updated_at = actor, utcnow()
    _audit_saved(actor, pref, f"role:{role}" if principal is None else f"principal:{principal.name}")
    db.session.flush()
    return pref


def _audit_saved(actor: str, pref: NotificationPreference, subject: str) -> None:
    """The change in the audit log: which webhooks are set, never their URLs."""
    audit.append(actor, "notifications.preferences_updated", subject,
                 {"channels": pref.channels, "events": pref.events, "mode": pref.mode, "email": pref.email,
                  "webhooks_set": sorted(pref.webhooks or {})})


def _merged_webhooks(stored: Mapping[str, Any] | None, given: Mapping[str, str | None]) -> dict[str, str]:
    """The stored webhook URLs with the given ones applied (None: keep, "": remove, a URL: checked, set)."""
    webhooks = {str(k): str(v) for k, v in (stored or {}).items() if v}
    for channel, url in given.items():
        if url == "":
            webhooks.pop(channel, None)
        elif url is not None:
            webhooks[channel] = validate_webhook_url(channel, url)
    return webhooks


def _check_reachable(channels: Sequence[str], webhooks: Mapping[str, str], email: str | None,
                     principal: Principal | None) -> None:
    """Every channel chosen can be reached: a webhook for each chat channel, an address for e-mail."""
    problems = {f"webhooks.{c}": [f"Required when {c} is a channel."]
                for c in channels if c in WEBHOOK_CHANNELS and not webhooks.get(c)}
    if problems:
        raise InvalidInput("webhook_required", "Give the incoming webhook of each chat channel chosen.",
                           {"fields": problems})
    if "email" in channels and email is None and (principal is None or _account_email(principal.id) is None):
        raise InvalidInput("email_required", "Give the address to e-mail.",
                           {"fields": {"email": ["Required when email is a channel."]}})


# --- fan-out ---------------------------------------------------------------------------------------------------

def preferences() -> list[NotificationPreference]:
    """Every preference with its principal (a committee's worth of rows)."""
    return list(db.session.scalars(select(NotificationPreference).options(joinedload(NotificationPreference.principal))
                                   .order_by(NotificationPreference.id)))


def _subscribed(event: str, roles: Iterable[str], principal_ids: Iterable[int], members: bool = True,
                known: Sequence[NotificationPreference] | None = None) -> list[NotificationPreference]:
    """The preferences to tell about ``event``: those of ``roles``, of principals holding one of them (with
    ``members``), and of ``principal_ids``; each once. ``known``: the preferences, already read."""
    wanted_roles, wanted_ids = set(roles), set(principal_ids)
    chosen: list[NotificationPreference] = []
    for pref in preferences() if known is None else known:
        if event not in (pref.events or ()) or not pref.channels:
            continue
        if pref.role is not None:
            if pref.role in wanted_roles:
                chosen.append(pref)
        elif pref.principal_id in wanted_ids or (members and pref.principal is not None and wanted_roles & set(
                pref.principal.committee_roles or ())):
            chosen.append(pref)
    return chosen


def notify(req: ExceptionRequest, message: Message, *, roles: Iterable[str] = (),
           principal_ids: Iterable[int] = (), members: bool = True,
           known: Sequence[NotificationPreference] | None = None) -> int:
    """Fan ``message`` out to everyone subscribed to its event: a digest item for a person who chose the daily
    digest, an outbox row per channel otherwise. How many preferences it reached."""
    prefs = _subscribed(message.event, roles, principal_ids, members, known)
    if not prefs:
        return 0
    db.session.flush()
    external = current_policy().external_channels
    for pref in prefs:
        if pref.principal_id is not None and pref.mode == "digest":
            db.session.add(NotificationItem(principal_id=pref.principal_id, request_pk=req.pk, event=message.event,
                                            message=message.as_dict(), created_at=utcnow()))
        else:
            _enqueue(pref, req.pk, f"{CHANGE_PREFIX}{message.event}", [message], None, external)
    return len(prefs)


def _enqueue(pref: NotificationPreference, request_pk: int, change: str, messages: Sequence[Message],
             heading: str | None, external: frozenset[str]) -> int:
    sent = 0
    for channel in pref.channels or ():
        shown = [m.for_channel(channel in external) for m in messages]
        if channel == "email":
            to = pref.email or (_account_email(pref.principal_id) if pref.principal_id else None)
            if not settings().smtp_url or not to:
                continue
            outbox.enqueue_notification(request_pk, "email", change, payload_for(channel, to, shown, heading))
        elif (pref.webhooks or {}).get(channel):
            outbox.enqueue_notification(request_pk, f"{channel}:{pref.id}", change,
                                        payload_for(channel, "", shown, heading))
        else:
            continue
        sent += 1
    return sent


# --- the events (one call from where each happens) -----------------------------------------------------------

def request_routed(req: ExceptionRequest, policy: Policy | None = None,
                   known: Sequence[NotificationPreference] | None = None) -> None:
    """A request entered review: tell the roles it needs."""
    roles = (policy or current_policy()).required_roles(req.track, req.risk_band)
    notify(req, routed_message(req, roles), roles=roles, known=known)


def requests_routed(pks: Sequence[int], policy: Policy) -> None:
    """Bulk intake's new requests in review: the preferences are read once per page, and the requests only when
    someone subscribed to ``routed``."""
    if not pks:
        return
    known = preferences()
    if not any("routed" in (pref.events or ()) for pref in known):
        return
    for start in range(0, len(pks), 500):
        page = list(pks[start:start + 500])
        for req in db.session.scalars(select(ExceptionRequest).where(ExceptionRequest.pk.in_(page))):
            request_routed(req, policy, known)


def sla_event(req: ExceptionRequest, kind: str, detail: Mapping[str, Any]) -> None:
    """An SLA reminder (the roles the request waits for) or an escalation (those and the chair)."""
    policy = current_policy()
    roles = policy.required_roles(req.track, req.risk_band)
    if kind == "sla.reminder":
        notify(req, reminder_message(req, detail), roles=roles)
    else:
        notify(req, escalation_message(req, detail), roles=[*roles, policy.chair])


def decided(req: ExceptionRequest, dec: Decision) -> None:
    """Tell everyone who voted on the request (any round)."""
    voters = db.session.scalars(select(Vote.principal_id).where(Vote.request_pk == req.pk).distinct())
    notify(req, decision_message(req, dec), principal_ids=list(voters))


def expiring(req: ExceptionRequest, ent: EntitlementBoundary) -> None:
    """The exception's owner (who recorded its current decision) and the chair's role channel; the chair's other
    members are not told about exceptions they do not own."""
    owner = db.session.scalar(select(Decision.principal_id).where(Decision.request_pk == req.pk,
                                                                  Decision.principal_id.is_not(None))
                              .order_by(Decision.id.desc()).limit(1))
    notify(req, expiring_message(req, ent), roles=[current_policy().chair],
           principal_ids=[owner] if owner is not None else [], members=False)


# --- the daily digest (a worker job) ---------------------------------------------------------------------------

def run_digests(now: datetime | None = None) -> dict[str, int]:
    """From ``CONNECTOR_DIGEST_HOUR`` (UTC) on, each person with pending digest items gets them in ONE message per
    channel, at most once per UTC day: the (principal, day) row is inserted first under a savepoint, so a second
    run, or a second worker, finds it and sends nothing."""
    now = now or utcnow()
    counts = {"digests": 0, "items": 0}
    if now.hour < settings().digest_hour:
        return counts
    day = now.date()
    pending = db.session.execute(select(NotificationItem.principal_id).where(NotificationItem.digest_id.is_(None),
                                                                           NotificationItem.created_at <= now)
                                 .distinct()).scalars().all()
    external = current_policy().external_channels
    for principal_id in sorted(pending):
        pref = db.session.scalar(select(NotificationPreference).where(NotificationPreference.principal_id
                                                                      == principal_id))
        digest = NotificationDigest(principal_id=principal_id, day=day, items=0, created_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(digest)
        except IntegrityError:
            continue  # today's digest went out already: these items wait for tomorrow's
        items = list(db.session.scalars(select(NotificationItem).where(
            NotificationItem.principal_id == principal_id, NotificationItem.digest_id.is_(None),
            NotificationItem.created_at <= now).order_by(NotificationItem.id)))
        for item in items:
            item.digest_id = digest.id
        digest.items = len(items)
        if pref is not None and items:
            messages = [Message.from_dict(item.message) for item in items]
            _enqueue(pref, items[-1].request_pk, f"{CHANGE_PREFIX}digest", messages,
                     digest_heading(len(items), day), external)
        counts["digests"] += 1
        counts["items"] += len(items)
    db.session.flush()
    return counts
