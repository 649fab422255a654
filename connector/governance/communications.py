"""Customer summary and internal note, rendered from the policy's templates in a Jinja2 sandbox.

Admins edit the templates, so they run sandboxed: no attribute access to internals, no imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

if TYPE_CHECKING:
    from connector.governance.policy import Policy

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


def render(template: str, context: Mapping[str, Any]) -> str:
    return _env.from_string(template).render(**context).strip() + "\n"


def communications(policy: Policy, request: Mapping[str, Any], decision: Mapping[str, Any],
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
    templates = policy.templates
    return render(templates["customer_summary"], context), render(templates["internal_note"], context)


_SAMPLE_REQUEST = {
    "key": "LEX-1000", "title": "Sample", "track": "standard",
    "customer": {"name": "Sample Co"}, "risk": {"band": "low", "score": 0.5, "explanation": []},
}
_SAMPLE_DECISION = {"outcome": "approved", "rationale": "Sample rationale", "decided_by": "chair"}
_SAMPLE_ENTITLEMENT = {
    "version": 1, "grants": {"seats": 105}, "effective_from": "2026-01-01", "expires_at": "2026-12-31",
    "conditions": ["sample"], "renewal": {"mode": "manual", "notice_days": 30}, "success_metrics": [],
}


def check_templates(policy: Policy) -> dict[str, str]:
    """Compile and trial-render each template; returns ``{template name: problem}``."""
    problems: dict[str, str] = {}
    for name, source in policy.templates.items():
        try:
            _lenient_env.from_string(source).render(
                request=_SAMPLE_REQUEST, decision=_SAMPLE_DECISION, entitlement=_SAMPLE_ENTITLEMENT,
                grants_summary="seats: 105", outcome_text="approved", escalation_contact="x",
            )
        except TemplateError as exc:
            problems[name] = f"{type(exc).__name__}: {exc}"
    return problems
