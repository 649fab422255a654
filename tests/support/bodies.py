"""Request bodies shaped like real intake, shared by tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

SMALL: dict[str, Any] = {
    "title": "Five more seats for the Q4 pilot",
    "category": "seat_expansion",
    "customer": {"name": "Acme GmbH", "account_id": "001A", "segment": "Mid-Market"},
    "requester": {"name": "Rita Rep", "email": "rita@vendor.example", "team": "EMEA Sales"},
    "baseline_terms": {"seats": 100, "term_end": "2027-06-30"},
    "requested_terms": {"seats": 105},
    "use_case": "Temporary pilot team for a migration project.",
    "justification": "Renewal in Q1; the pilot decides an upsell.",
    "revenue_impact": {"amount": "500", "currency": "USD"},
    "data_sensitivity": "internal",
    "user_base": 5,
    "requested_start": "2026-12-01",
    "requested_end": "2026-12-31",
}

LARGE: dict[str, Any] = {
    "title": "OEM redistribution across EMEA, APAC and LATAM",
    "category": "usage_rights",
    "customer": {"name": "Globex Devices", "account_id": "001B", "segment": "Enterprise"},
    "requester": {"name": "Sam Seller", "email": "sam@vendor.example"},
    "baseline_terms": {"regions": ["NA"], "usage_rights": ["internal_use"]},
    "requested_terms": {"usage_rights": ["redistribution", "oem"], "regions": ["EMEA", "APAC", "LATAM"]},
    "use_case": "Embed our engine in Globex devices sold worldwide.",
    "revenue_impact": {"amount": "4800000", "currency": "USD"},
    "data_sensitivity": "regulated",
    "user_base": 250000,
    "deployment_scale": 5000,
    "requested_start": "2027-01-01",
    "requested_end": "2027-12-31",
}


def entitlement(days: int = 180, **extra: Any) -> dict[str, Any]:
    start = date.today()
    return {"grants": {"seats": 105}, "effective_from": start.isoformat(),
            "expires_at": (start + timedelta(days=days)).isoformat(),
            "conditions": [], "renewal": {"mode": "manual", "notice_days": 14},
            "success_metrics": ["pilot converts to 20 paid seats"], **extra}
