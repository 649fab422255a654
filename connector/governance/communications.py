"""Customer summary and internal note, rendered from the policy's templates in a Jinja2 sandbox.

Admins edit the templates, so they run sandboxed: no attribute access to internals, no imports.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Protocol

from jinja2 import Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from connector.governance.errors import StateConflict


class Templates(Protocol):
    """What rendering needs of a policy (``connector.governance.policy.Policy`` is one): the policy validates its
    templates through this module while it is being parsed, so this module cannot import the policy's."""

    @property
    def templates(self) -> Mapping[str, str]: ...

    @property
    def sla(self) -> Mapping[str, Any]: ...

    @property
    def version(self) -> int: ...


_env = ImmutableSandboxedEnvironment(autoescape=False, trim_blocks=False, keep_trailing_newline=False)
_lenient_env = ImmutableSandboxedEnvironment(autoescape=False)

OUTCOME_TEXT = {
    "approved": "approved",
    "approved_with_conditions": "approved with conditions",
    "denied": "declined",
}


def summarize_terms(terms: Mapping[str, Any] | None) -> str:
    parts = []
    for key, value in (terms or {}).items():
        if value in (None, "", []):
            continue
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts) or "no change to the license terms"


@functools.lru_cache(maxsize=256)
def _compiled(template: str) -> Template:
    """A template's source compiled once per process (compiling was two thirds of a decision's CPU); a compiled
    template renders concurrently."""
    return _env.from_string(template)


def render(template: str, context: Mapping[str, Any]) -> str:
    return _compiled(template).render(**context).strip() + "\n"


def render_text(template: str, context: Mapping[str, Any]) -> str:
    """A template rendered exactly as written (a notice a source posts: no whitespace added or trimmed)."""
    return _compiled(template).render(**context)


def _render_policy_template(policy: Templates, name: str, context: Mapping[str, Any]) -> str:
    """One of the policy's templates for a real decision. A template can pass the trial renders and still fail
    on a real request's values (a filter given a value of another type): the decision is then refused, with
    the template named, rather than recorded with a missing message."""
    try:
        return render(policy.templates[name], context)
    except Exception as exc:  # an admin's template: any failure of it is the policy's, not a server error
        raise StateConflict(
            "policy_template_failed",
            f"The policy's {name} template fails for this request ({type(exc).__name__}: {exc}); nothing was "
            "recorded. An admin must fix the template (PUT /api/v1/policy), then decide again.",
            {"fields": {f"templates.{name}": [f"{type(exc).__name__}: {exc}"]}, "policy_version": policy.version},
        ) from exc


def communications(policy: Templates, request: Mapping[str, Any], decision: Mapping[str, Any],
                   entitlement: Mapping[str, Any] | None) -> tuple[str, str]:
    """(customer summary, internal note) for one decision version."""
    context = {
        "request": request,
        "decision": decision,
        "entitlement": entitlement or {},
        "grants_summary": summarize_terms((entitlement or {}).get("grants")),
        "outcome_text": OUTCOME_TEXT.get(str(decision.get("outcome")), str(decision.get("outcome"))),
        "escalation_contact": policy.sla.get("escalation_contact", ""),
    }
    return (_render_policy_template(policy, "customer_summary", context),
            _render_policy_template(policy, "internal_note", context))


_SAMPLE_REQUEST = {
    "key": "LEX-1000", "title": "Sample", "track": "standard",
    "customer": {"name": "Sample Co"}, "risk": {"band": "low", "score": 0.5, "explanation": []},
}
_SAMPLE_DECISION = {"outcome": "approved", "rationale": "Sample rationale", "decided_by": "chair"}
_SAMPLE_ENTITLEMENT = {
    "version": 1, "grants": {"seats": 105}, "effective_from": "2026-01-01", "expires_at": "2026-12-31",
    "conditions": ["sample"], "renewal": {"mode": "manual", "notice_days": 30}, "success_metrics": [],
}


_FULL_REQUEST = {
    **_SAMPLE_REQUEST,
    "id": "0" * 32, "state": "approved", "category": "seat_expansion", "justification": "Sample justification",
    "customer": {"name": "Sample Co", "account_id": "001000000000001", "segment": "enterprise",
                 "region": "EMEA"},
    "baseline_terms": {"seats": 100, "term_end": "2026-12-31"}, "requested_terms": {"seats": 105},
    "business_value": {"arr_at_stake": "120000.00", "currency": "EUR"}, "adjacent_features": ["sso"],
    "intake": {"summary": "", "missing": [], "conflicts": []}, "url": "https://connector.example/requests/0",
}
_DENIAL = {"outcome": "denied", "rationale": "Sample rationale", "decided_by": "chair"}


def check_templates(policy: Templates) -> dict[str, str]:
    """Compile and trial-render each template for a sparse approval, a full one and a denial; returns
    ``{template name: problem}``. Any exception counts (a template may divide, format or index)."""
    trials = [
        (_SAMPLE_REQUEST, _SAMPLE_DECISION, _SAMPLE_ENTITLEMENT, "seats: 105", "approved"),
        (_FULL_REQUEST, _SAMPLE_DECISION, _SAMPLE_ENTITLEMENT, "seats: 105", "approved"),
        (_FULL_REQUEST, _DENIAL, {}, summarize_terms(None), "declined"),
    ]
    problems: dict[str, str] = {}
    for name, source in policy.templates.items():
        for request, decision, entitlement, grants_summary, outcome_text in trials:
            try:
                _lenient_env.from_string(source).render(
                    request=request, decision=decision, entitlement=entitlement, grants_summary=grants_summary,
                    outcome_text=outcome_text, escalation_contact=policy.sla.get("escalation_contact", "x"),
                )
            except Exception as exc:  # a syntax error, or one the values raise (division, format, index)
                problems[name] = f"{type(exc).__name__}: {exc}"
                break
    return problems
