"""Deterministic, realistic accounts for the Zendesk sandbox: organizations, people, ticket fields, tickets.

The same seed always yields the same records, so demos, end-to-end tests and benchmarks can name tickets
and expect values. Most tickets carry the ``license_exception`` tag and the license exception form; some
are ordinary support tickets; some exception requests are incomplete (fields left empty).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LICENSE_EXCEPTION_TAG = "license_exception"
DEFAULT_FORM_ID = 360000200000
EXCEPTION_FORM_ID = 360000200001
API_USER_ID = 360000000001
AGENT_IDS = (360000000002, 360000000003, 360000000004)
ORG_BASE_ID = 360000100000
USER_BASE_ID = 360000300000
TICKET_BASE_ID = 1000
FIELD_BASE_ID = 360010000001

CATEGORIES = (
    "seat_expansion",
    "deployment_scope",
    "term_extension",
    "usage_rights",
    "geographic_scope",
    "feature_access",
    "pricing_deviation",
    "other",
)
SENSITIVITIES = ("public", "internal", "confidential", "regulated")
REGIONS = ("emea", "apac", "amer", "latam")
SEGMENTS = ("enterprise", "mid_market", "smb", "public_sector")
CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP")
TEAMS = ("Sales", "Customer Success", "Support", "Partnerships")


@dataclass(frozen=True)
class FieldSpec:
    """One pre-provisioned custom ticket field (``name`` is the key in ``sandbox.field_ids``)."""

    name: str
    type: str
    title: str
    options: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _label(value: str) -> str:
    return value.replace("_", " ").title()


CUSTOM_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "category",
        "tagger",
        "License exception category",
        tuple((_label(c), f"lec_category_{c}") for c in CATEGORIES),
    ),
    FieldSpec("requested_seats", "integer", "Requested seats"),
    FieldSpec("baseline_seats", "integer", "Current licensed seats"),
    FieldSpec("revenue_impact", "decimal", "Revenue impact"),
    FieldSpec("currency", "text", "Revenue impact currency"),
    FieldSpec(
        "data_sensitivity",
        "tagger",
        "Data sensitivity",
        tuple((_label(s), f"lec_sensitivity_{s}") for s in SENSITIVITIES),
    ),
    FieldSpec(
        "requested_regions",
        "multiselect",
        "Requested regions",
        (
            ("EMEA", "lec_region_emea"),
            ("APAC", "lec_region_apac"),
            ("Americas", "lec_region_amer"),
            ("Latin America", "lec_region_latam"),
        ),
    ),
    FieldSpec("requested_start", "date", "Requested start date"),
    FieldSpec("requested_end", "date", "Requested end date"),
    FieldSpec("justification", "textarea", "Business justification"),
    FieldSpec("user_base", "integer", "Number of end users"),
    FieldSpec("governance_key", "text", "Governance key"),
    FieldSpec("governance_status", "text", "Governance status"),
    FieldSpec("decision", "text", "Governance decision"),
    FieldSpec("entitlement_expires", "date", "Exception expires"),
)
FIELD_IDS: dict[str, int] = {spec.name: FIELD_BASE_ID + index for index, spec in enumerate(CUSTOM_FIELDS)}

SYSTEM_FIELDS = (
    ("subject", "Subject"),
    ("description", "Description"),
    ("status", "Status"),
    ("tickettype", "Type"),
    ("priority", "Priority"),
    ("group", "Group"),
    ("assignee", "Assignee"),
)

_ORG_PREFIXES = (
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Acme",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
    "Wonka",
    "Oscorp",
    "Gringotts",
    "Monarch",
    "Pied Piper",
)
_ORG_SUFFIXES = (
    "Analytics",
    "Logistics",
    "Health",
    "Bank",
    "Retail",
    "Energy",
    "Media",
    "Systems",
    "Labs",
    "Insurance",
    "Foods",
    "Telecom",
)
_FIRST = (
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Ken",
    "Frances",
    "Linus",
    "Radia",
    "Tim",
    "Katherine",
    "Dennis",
    "Hedy",
    "John",
    "Sophie",
    "Guido",
    "Anita",
    "Bjarne",
)
_LAST = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Allen",
    "Torvalds",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "Ritchie",
    "Lamarr",
    "McCarthy",
    "Wilson",
    "van Rossum",
    "Borg",
    "Stroustrup",
)
_FEATURES = (
    "SSO enforcement",
    "audit export",
    "advanced analytics",
    "offline mode",
    "API burst quota",
    "custom retention",
    "sandbox environments",
)
_SUPPORT_SUBJECTS = (
    "Password reset link expired",
    "Invoice shows the wrong VAT number",
    "Export to CSV times out",
    "Cannot invite new teammates",
    "Dark mode renders charts unreadable",
    "Webhook retries twice",
    "Two-factor codes arrive late",
)


def iso(when: float) -> str:
    """Zendesk's timestamp format: ISO 8601, UTC, whole seconds."""
    return datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(when: float) -> str:
    return datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%d")


def build_organizations(rng: random.Random, count: int, anchor: float) -> list[dict[str, Any]]:
    organizations = []
    for index in range(count):
        prefix = _ORG_PREFIXES[index % len(_ORG_PREFIXES)]
        suffix = _ORG_SUFFIXES[(index // len(_ORG_PREFIXES)) % len(_ORG_SUFFIXES)]
        generation = index // (len(_ORG_PREFIXES) * len(_ORG_SUFFIXES))
        name = f"{prefix} {suffix}" + (f" {generation + 1}" if generation else "")
        domain = name.lower().replace(" ", "") + ".example.com"
        org_id = ORG_BASE_ID + index
        created = iso(anchor - 400 * 86400 + index * 3600)
        organizations.append(
            {
                "id": org_id,
                "name": name,
                "domain_names": [domain],
                "external_id": f"ACC-{10000 + index}",
                "details": "",
                "notes": "",
                "group_id": None,
                "shared_tickets": False,
                "shared_comments": False,
                "tags": [rng.choice(SEGMENTS)],
                "organization_fields": {
                    "segment": rng.choice(SEGMENTS),
                    "account_number": f"ACC-{10000 + index}",
                },
                "created_at": created,
                "updated_at": created,
            }
        )
    return organizations


def _user(
    user_id: int,
    name: str,
    email: str,
    role: str,
    organization_id: int | None,
    created: str,
    team: str | None,
) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": name,
        "email": email,
        "role": role,
        "organization_id": organization_id,
        "active": True,
        "verified": True,
        "suspended": False,
        "locale": "en-US",
        "time_zone": "UTC",
        "phone": None,
        "external_id": None,
        "tags": [],
        "user_fields": {"team": team},
        "created_at": created,
        "updated_at": created,
    }


def build_users(
    rng: random.Random, count: int, organizations: list[dict[str, Any]], anchor: float
) -> list[dict[str, Any]]:
    created = iso(anchor - 300 * 86400)
    users = [
        _user(
            API_USER_ID,
            "Connector Admin",
            "connector-admin@sandbox.example.com",
            "admin",
            None,
            created,
            None,
        )
    ]
    for offset, agent_id in enumerate(AGENT_IDS):
        first, last = _FIRST[offset], _LAST[-offset - 1]
        users.append(
            _user(
                agent_id,
                f"{first} {last}",
                f"{first.lower()}.agent@sandbox.example.com",
                "agent",
                None,
                created,
                "Support",
            )
        )
    for index in range(count):
        organization = organizations[index % len(organizations)]
        first = _FIRST[rng.randrange(len(_FIRST))]
        last = _LAST[rng.randrange(len(_LAST))]
        local = f"{first}.{last}".lower().replace(" ", "").replace("-", "")
        email = f"{local}{index}@{organization['domain_names'][0]}"
        users.append(
            _user(
                USER_BASE_ID + index,
                f"{first} {last}",
                email,
                "end-user",
                organization["id"],
                created,
                rng.choice(TEAMS),
            )
        )
    return users


def _exception_content(rng: random.Random, category: str, org_name: str, start: float) -> dict[str, Any]:
    """Subject, description and custom field values for one license exception request."""
    baseline = rng.choice((25, 50, 100, 250, 500, 1000, 2500))
    delta = rng.choice((10, 25, 50, 100, 250, 500))
    amount = rng.choice((0, 1500, 4800, 12000, 25000, 60000, 150000, 400000))
    user_base = rng.choice((5, 20, 80, 200, 750, 3000))
    sensitivity = rng.choices(SENSITIVITIES, weights=(2, 5, 3, 1))[0]
    start_date = start + rng.randrange(5, 40) * 86400
    end_date = start_date + rng.choice((30, 90, 180, 365)) * 86400
    regions: list[str] = []
    if category in ("geographic_scope", "deployment_scope"):
        regions = rng.sample(REGIONS, rng.randint(1, 2))
    feature = rng.choice(_FEATURES)
    subjects = {
        "seat_expansion": f"{org_name} needs {baseline + delta} seats (licensed for {baseline})",
        "deployment_scope": f"{org_name} asks to deploy on a second production environment",
        "term_extension": f"{org_name} requests a license term extension",
        "usage_rights": f"{org_name} wants to embed the product in a partner portal",
        "geographic_scope": f"{org_name} asks to expand use to {', '.join(r.upper() for r in regions)}",
        "feature_access": f"{org_name} requests early access to {feature}",
        "pricing_deviation": f"{org_name} asks for a renewal discount",
        "other": f"{org_name} has a non-standard licensing request",
    }
    use_cases = {
        "seat_expansion": f"A new team of {delta} analysts joins the rollout before the renewal date.",
        "deployment_scope": "A disaster-recovery site must run the product in hot standby.",
        "term_extension": "The customer's budget cycle moved by a quarter; they need coverage until then.",
        "usage_rights": "Their reseller wants to show dashboards to end customers inside its portal.",
        "geographic_scope": "A subsidiary opened offices abroad and needs the same tooling.",
        "feature_access": f"They are piloting {feature} with a strategic project.",
        "pricing_deviation": "A competitor quoted lower; procurement asks us to match for one year.",
        "other": "The customer asks for terms our standard agreement does not cover.",
    }
    values: dict[str, Any] = {
        "category": f"lec_category_{category}",
        "requested_seats": str(baseline + delta) if category == "seat_expansion" else None,
        "baseline_seats": str(baseline),
        "revenue_impact": f"{amount}.00",
        "currency": rng.choice(CURRENCIES),
        "data_sensitivity": f"lec_sensitivity_{sensitivity}",
        "requested_regions": [f"lec_region_{r}" for r in regions] or None,
        "requested_start": _date(start_date),
        "requested_end": _date(end_date),
        "justification": f"Expected revenue impact {amount}; strategic account renewal in "
        f"{rng.choice(('Q1', 'Q2', 'Q3', 'Q4'))}.",
        "user_base": str(user_base),
    }
    description = (
        f"Hello team,\n\n{use_cases[category]}\n\nCould we get an exception for this? "
        f"About {user_base} users would be affected.\n\nThanks!"
    )
    return {"subject": subjects[category], "description": description, "values": values}


def build_ticket(
    rng: random.Random,
    index: int,
    created: float,
    updated: float,
    requester: dict[str, Any],
    organization: dict[str, Any] | None,
    flagged_share: float = 0.85,
) -> dict[str, Any]:
    """One ticket in the API's JSON shape (without ``url``, which depends on the host serving it)."""
    ticket_id = TICKET_BASE_ID + index
    roll = rng.random()
    is_exception = roll < flagged_share
    values: dict[str, Any] = {}
    tags: list[str]
    if is_exception:
        category = CATEGORIES[rng.randrange(len(CATEGORIES))]
        content = _exception_content(rng, category, organization["name"] if organization else "A customer", created)
        values = content["values"]
        if rng.random() < 0.12:
            for name in rng.sample(("revenue_impact", "data_sensitivity", "currency", "category"), rng.randint(1, 2)):
                values[name] = None
        subject, description = content["subject"], content["description"]
        tags = [LICENSE_EXCEPTION_TAG]
        for name in ("category", "data_sensitivity"):
            if values.get(name):
                tags.append(values[name])
        tags.extend(values.get("requested_regions") or ())
        form_id, ticket_type, priority = EXCEPTION_FORM_ID, "task", rng.choice(("normal", "high"))
    else:
        subject = _SUPPORT_SUBJECTS[rng.randrange(len(_SUPPORT_SUBJECTS))]
        description = f"Hi, {subject.lower()}. Can you help?"
        tags = [rng.choice(("billing", "bug", "how_to"))]
        form_id, ticket_type, priority = DEFAULT_FORM_ID, "question", rng.choice(("low", "normal"))
    custom_fields = [{"id": FIELD_IDS[spec.name], "value": values.get(spec.name)} for spec in CUSTOM_FIELDS]
    assignee = AGENT_IDS[index % len(AGENT_IDS)] if rng.random() < 0.6 else None
    status = rng.choices(("new", "open", "pending"), weights=(3, 5, 2))[0]
    return {
        "id": ticket_id,
        "external_id": None,
        "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": iso(created),
        "updated_at": iso(updated),
        "generated_timestamp": int(updated),
        "type": ticket_type,
        "subject": subject,
        "raw_subject": subject,
        "description": description,
        "priority": priority,
        "status": status,
        "recipient": "support@sandbox.example.com",
        "requester_id": requester["id"],
        "submitter_id": requester["id"],
        "assignee_id": assignee,
        "organization_id": organization["id"] if organization else None,
        "group_id": 360000400001,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "forum_topic_id": None,
        "problem_id": None,
        "has_incidents": False,
        "is_public": True,
        "due_at": None,
        "tags": tags,
        "custom_fields": custom_fields,
        "fields": [dict(item) for item in custom_fields],
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "followup_ids": [],
        "ticket_form_id": form_id,
        "brand_id": 360000500001,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
    }
