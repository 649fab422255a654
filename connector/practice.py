"""Practice cases: reviewers decide anonymised past requests as if live, then see what the committee decided.

**Anonymised.** A case shows what the committee saw (category, track, risk, terms asked, use case, revenue, data
sensitivity, user base) with the customer's name, account id and contacts and the requester replaced by
placeholders. A placeholder is a keyed hash of the real value (``Customer 3F9A2C``), so the same customer or
requester is the same placeholder in every case and every session, and the real name also disappears from the
free text (title, use case, justification, rationales) where it was written out.

**Kept apart.** Practice writes only ``practice_attempts`` rows and audit events in the ``practice.*`` action
namespace whose subject is ``practice:<attempt id>`` (never ``request:<id>``): a request's history, the requests,
votes, decisions, entitlements, deliveries and billing are never touched.

**Consistency score.** Each attempt is compared with the committee's *first* decision on the request:

- *outcome match*: the same class of outcome (``approved``, ``approved_with_conditions``, ``denied``);
- *boundary closeness* (only when both approved), 0..1: the mean over every grant either side gave (seats and
  other numbers ``1 - |a - b| / max(|a|, |b|)``; lists such as regions their overlap ``|A and B| / |A or B|``; any
  other value 1 when equal, else 0; a grant only one side gave 0) and over the duration in days (as numbers);
- the attempt's *score*: 0 when the outcome differs, 1 for a matching denial, ``0.5 + 0.5 * closeness`` for a
  matching approval.

A reviewer's consistency score is the mean of their attempts' scores; ``outcome_agreement`` is the share of
attempts whose outcome matched and ``boundary_closeness`` the mean closeness over the attempts where both approved.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import statistics
from collections.abc import Mapping
from typing import Any

from flask import current_app
from sqlalchemy import select

from connector import audit
from connector.db import db
from connector.governance.errors import InvalidInput, StateConflict
from connector.governance.outcomes import LIST_TERMS
from connector.governance.review import APPROVALS
from connector.models import Decision, EntitlementBoundary, ExceptionRequest, PracticeAttempt, Principal, Vote, utcnow

PRACTICE_VOTES = ("approve", "reject", "abstain")
OUTCOMES = ("approved", "approved_with_conditions", "denied")
QUEUE_LIMIT = 50
MAX_TEXT = 5000
#: the fields a case shows as they are (no customer identity in them)
_PLAIN_FIELDS = ("category", "baseline_terms", "requested_terms", "revenue_impact", "data_sensitivity", "user_base",
                 "deployment_scale", "requested_start", "requested_end", "adjacent_features")
_TEXT_FIELDS = ("title", "use_case", "justification", "risk_exposure")


def _tag(kind: str, value: str) -> str:
    key = str(current_app.secret_key or "").encode("utf-8")
    return hmac.new(key, f"practice:{kind}:{value.strip().lower()}".encode(), hashlib.sha256).hexdigest()[:6].upper()


def placeholders(req: ExceptionRequest) -> dict[str, str]:
    """Each identifying value of the request (customer, account, requester, their email) → its placeholder."""
    fields = req.fields or {}
    customer = fields.get("customer") or {}
    requester = fields.get("requester") or {}
    out: dict[str, str] = {}
    if customer.get("name"):
        out[str(customer["name"])] = f"Customer {_tag('customer', str(customer['name']))}"
    if customer.get("account_id"):
        out[str(customer["account_id"])] = f"ACCOUNT-{_tag('account', str(customer['account_id']))}"
    if requester.get("email"):
        out[str(requester["email"])] = f"requester-{_tag('email', str(requester['email'])).lower()}@example.invalid"
    if requester.get("name"):
        out[str(requester["name"])] = f"Requester {_tag('requester', str(requester['name']))}"
    return out


def scrub(text: str | None, names: Mapping[str, str]) -> str:
    """``text`` with every identifying value (case-insensitive, longest first) replaced by its placeholder."""
    result = text or ""
    for real in sorted(names, key=len, reverse=True):
        if len(real) >= 2:
            result = re.sub(re.escape(real), names[real], result, flags=re.IGNORECASE)
    return result


def _first_decision(req: ExceptionRequest) -> Decision:
    return req.decisions[0]


def _entitlement(req: ExceptionRequest, dec: Decision) -> EntitlementBoundary | None:
    return next((e for e in req.entitlements if e.version == dec.entitlement_version), None)


def case_view(req: ExceptionRequest) -> dict[str, Any]:
    """The case as the committee saw it, anonymised; nothing about how it was decided."""
    names = placeholders(req)
    fields = req.fields or {}
    customer = fields.get("customer") or {}
    risk = dict(req.risk or {})
    view: dict[str, Any] = {
        "case": req.pk,
        "track": req.track,
        "risk": {"score": req.risk_score, "band": req.risk_band, "dimensions": risk.get("dimensions") or {},
                 "explanation": [{"dimension": line.get("dimension"), "points": line.get("points"),
                                  "because": scrub(str(line.get("because") or ""), names)}
                                 for line in risk.get("explanation") or [] if isinstance(line, Mapping)]},
        "customer": {"name": names.get(str(customer.get("name")), "Customer (unnamed)"),
                     "segment": customer.get("segment"), "region": customer.get("region")},
        "requester": {"name": names.get(str((fields.get("requester") or {}).get("name")), "Requester"),
                      "email": names.get(str((fields.get("requester") or {}).get("email")))},
    }
    view.update({name: fields.get(name) for name in _PLAIN_FIELDS})
    view.update({name: scrub(fields.get(name), names) or None for name in _TEXT_FIELDS})
    return view


def _duration(ent: EntitlementBoundary | None) -> int | None:
    return (ent.expires_at - ent.effective_from).days if ent is not None else None


def reveal(req: ExceptionRequest) -> dict[str, Any]:
    """How the committee decided and why (its first decision and the votes before it), anonymised."""
    names = placeholders(req)
    dec = _first_decision(req)
    ent = _entitlement(req, dec)
    votes: list[Vote] = [v for v in req.votes if v.review_round <= dec.review_round]
    return {
        "outcome": dec.outcome,
        "rationale": scrub(dec.rationale, names),
        "grants": dict(ent.grants) if ent is not None else {},
        "duration_days": _duration(ent),
        "conditions": [scrub(c, names) for c in (ent.conditions if ent is not None else [])],
        "votes": [{"role": v.role, "vote": v.vote, "rationale": scrub(v.rationale, names) or None,
                   "round": v.review_round} for v in votes],
    }


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _near(a: float, b: float) -> float:
    top = max(abs(a), abs(b))
    return 1.0 if top == 0 else max(0.0, 1 - abs(a - b) / top)


def _blank(value: Any) -> bool:
    return value in (None, [], "")


def _term_closeness(a: Any, b: Any) -> float:
    """One term: both blank 1, one blank 0, numbers by ratio, lists by overlap (Jaccard), else equal or not."""
    if _blank(a) or _blank(b):
        return 1.0 if _blank(a) and _blank(b) else 0.0
    if _number(a) and _number(b):
        return _near(float(a), float(b))
    if isinstance(a, list) and isinstance(b, list):
        left, right = {str(x).lower() for x in a}, {str(x).lower() for x in b}
        return len(left & right) / len(left | right)
    return 1.0 if a == b else 0.0


def closeness(grants: Mapping[str, Any], days: int | None, real_grants: Mapping[str, Any],
              real_days: int | None) -> float:
    """How near practice boundaries are to the real ones, 0..1 (see the module's docstring)."""
    parts = [_term_closeness(grants.get(key), real_grants.get(key)) for key in sorted(set(grants) | set(real_grants))]
    if days is not None and real_days is not None:
        parts.append(_near(days, real_days))
    return round(statistics.fmean(parts), 4) if parts else 1.0


def attempt_score(outcome_match: bool, both_approved: bool, near: float | None) -> float:
    if not outcome_match:
        return 0.0
    if both_approved and near is not None:
        return 0.5 + 0.5 * near
    return 1.0


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text_problems(body: Mapping[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if body.get("vote") not in PRACTICE_VOTES:
        problems["vote"] = [f"Must be one of: {', '.join(PRACTICE_VOTES)}."]
    if body.get("outcome") not in OUTCOMES:
        problems["outcome"] = [f"Must be one of: {', '.join(OUTCOMES)}."]
    rationale = str(body.get("rationale") or "").strip()
    if not rationale:
        problems["rationale"] = ["Say why, as you would for a real decision."]
    elif len(rationale) > MAX_TEXT:
        problems["rationale"] = [f"At most {MAX_TEXT} characters."]
    if len(str(body.get("vote_rationale") or "").strip()) > MAX_TEXT:
        problems["vote_rationale"] = [f"At most {MAX_TEXT} characters."]
    return problems


def _grant_problem(key: str, value: Any) -> str | None:
    if key == "seats":
        return None if _whole(value) and value >= 0 else "A whole number of seats, 0 or more."
    if key in LIST_TERMS:
        return None if isinstance(value, list) and all(isinstance(v, str) for v in value) else "A list of names."
    return f"Practice grants take seats and {', '.join(LIST_TERMS)}."


def _grant_problems(outcome: Any, grants: Mapping[str, Any], days: Any) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if outcome == "denied" and (grants or days is not None):
        problems["grants"] = ["A denial grants nothing: leave grants and duration_days out."]
    for key, value in grants.items():
        problem = _grant_problem(key, value)
        if problem:
            problems[f"grants.{key}"] = [problem]
    if days is not None and not (_whole(days) and 1 <= days <= 3650):
        problems["duration_days"] = ["A whole number of days from 1 to 3650."]
    return problems


def _validated(body: Mapping[str, Any]) -> dict[str, Any]:
    grants, days = dict(body.get("grants") or {}), body.get("duration_days")
    problems = {**_text_problems(body), **_grant_problems(body.get("outcome"), grants, days)}
    if problems:
        raise InvalidInput("invalid_input", "The practice decision was not recorded: see the marked fields.",
                           {"fields": problems})
    return {"vote": body.get("vote"), "vote_rationale": str(body.get("vote_rationale") or "").strip(),
            "outcome": body.get("outcome"), "rationale": str(body.get("rationale") or "").strip(),
            "grants": {k: v for k, v in grants.items() if not _blank(v)}, "duration_days": days}


def pool(principal: Principal) -> list[ExceptionRequest]:
    """Decided requests this reviewer took no part in (no vote, no decision), newest decision first."""
    took_part = select(Vote.request_pk).where(Vote.principal_id == principal.id)
    decided = select(Decision.request_pk).where(Decision.principal_id == principal.id)
    query = (select(ExceptionRequest).where(ExceptionRequest.first_decided_at.is_not(None),
                                            ExceptionRequest.pk.not_in(took_part), ExceptionRequest.pk.not_in(decided))
             .order_by(ExceptionRequest.first_decided_at.desc(), ExceptionRequest.pk.desc()).limit(QUEUE_LIMIT))
    return [r for r in db.session.scalars(query) if r.decisions]


def attempts_of(principal: Principal) -> list[PracticeAttempt]:
    return list(db.session.scalars(select(PracticeAttempt).where(PracticeAttempt.principal_id == principal.id)
                                   .order_by(PracticeAttempt.id)))


def attempt_for(principal: Principal, req: ExceptionRequest) -> PracticeAttempt | None:
    return db.session.scalar(select(PracticeAttempt).where(PracticeAttempt.principal_id == principal.id,
                                                           PracticeAttempt.request_pk == req.pk))


def find_case(principal: Principal, case: int) -> ExceptionRequest | None:
    """The case, if it is one this reviewer may practise (or has practised)."""
    req = db.session.get(ExceptionRequest, case)
    if req is None or not req.decisions:
        return None
    if attempt_for(principal, req) is not None:
        return req
    return req if any(r.pk == req.pk for r in pool(principal)) else None


def record_attempt(principal: Principal, req: ExceptionRequest, body: Mapping[str, Any]) -> PracticeAttempt:
    """Store one practice decision and its comparison; audited as ``practice.attempted`` (no case text)."""
    values = _validated(body)
    if attempt_for(principal, req) is not None:
        raise StateConflict("already_practised", "You have practised this case already; its result stands. Pick "
                            "another case from the practice queue.", {"case": req.pk})
    real = reveal(req)
    match = values["outcome"] == real["outcome"]
    both = values["outcome"] in APPROVALS and real["outcome"] in APPROVALS
    near = closeness(values["grants"], values["duration_days"], real["grants"], real["duration_days"]) \
        if both else None
    row = PracticeAttempt(principal_id=principal.id, request_pk=req.pk, vote=values["vote"],
                          vote_rationale=values["vote_rationale"], outcome=values["outcome"],
                          rationale=values["rationale"], grants=values["grants"],
                          duration_days=values["duration_days"], real_outcome=real["outcome"],
                          real_grants=real["grants"], real_duration_days=real["duration_days"], outcome_match=match,
                          closeness=near, created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.append(principal.name, "practice.attempted", f"practice:{row.id}",
                 {"case": req.pk, "vote": values["vote"], "outcome": values["outcome"],
                  "real_outcome": real["outcome"], "outcome_match": match, "closeness": near,
                  "score": attempt_score(match, both, near)})
    return row


def attempt_view(row: PracticeAttempt) -> dict[str, Any]:
    both = row.outcome in APPROVALS and row.real_outcome in APPROVALS
    return {"id": row.id, "case": row.request_pk, "vote": row.vote, "vote_rationale": row.vote_rationale,
            "outcome": row.outcome, "rationale": row.rationale, "grants": row.grants,
            "duration_days": row.duration_days, "real_outcome": row.real_outcome, "outcome_match": row.outcome_match,
            "closeness": row.closeness, "score": round(attempt_score(row.outcome_match, both, row.closeness), 4),
            "practised_at": row.created_at.isoformat()}


def consistency(rows: list[PracticeAttempt]) -> dict[str, Any]:
    """The reviewer's consistency over their practice (definitions in the module's docstring)."""
    scores = [attempt_view(r)["score"] for r in rows]
    near = [r.closeness for r in rows if r.closeness is not None]
    return {
        "attempts": len(rows),
        "outcome_matches": sum(r.outcome_match for r in rows),
        "outcome_agreement": round(sum(r.outcome_match for r in rows) / len(rows), 4) if rows else None,
        "boundary_closeness": round(statistics.fmean(near), 4) if near else None,
        "score": round(statistics.fmean(scores), 4) if scores else None,
        "definition": "Mean per attempt of: 0 if the outcome differs from the committee's first decision; 1 for a "
                      "matching denial; 0.5 + 0.5 x boundary closeness (0..1) for a matching approval.",
    }


def queue_item(req: ExceptionRequest) -> dict[str, Any]:
    names = placeholders(req)
    return {"case": req.pk, "title": scrub((req.fields or {}).get("title"), names) or None,
            "category": req.category, "track": req.track, "risk_band": req.risk_band}
