"""Inbound mapping throughput: the default Salesforce mapping over N realistic records on one core.

    python tests/benchmarks/mapping.py [--records N]

The last line printed is one JSON object: {"records": N, "wall_s": ..., "records_per_s": ...}.
Records are built before the clock starts, cycling through a few hundred variants (full records, sparse ones,
null relationships, unmapped picklist values, invalid numbers) so the figure covers the error paths too.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

from connector.governance.fields import GOVERNANCE_FIELDS
from mappings import compile_inbound, default_mapping

_CATEGORIES = ["Seat Expansion", "Deployment Scope", "Term Extension", "Geographic Scope", "Other"]
_REGIONS = ["EMEA", "APAC", "AMER", "LATAM"]


def salesforce_record(n: int, rng: random.Random) -> dict[str, Any]:
    """A License_Exception_Request__c record as the REST query endpoint returns it."""
    record_id = f"a0X5g00000{n:08d}"[:18]
    baseline = float(rng.randrange(10, 5000))
    record: dict[str, Any] = {
        "attributes": {
            "type": "License_Exception_Request__c",
            "url": f"/services/data/v61.0/sobjects/License_Exception_Request__c/{record_id}",
        },
        "Id": record_id,
        "Name": f"  Seat expansion for customer {n}  ",
        "IsDeleted": False,
        "CreatedDate": "2026-11-20T10:30:00.000+0000",
        "LastModifiedDate": "2026-11-21T08:00:00.000+0000",
        "SystemModstamp": "2026-11-21T08:00:00.000+0000",
        "CurrencyIsoCode": rng.choice(["USD", "EUR", "gbp", None]),
        "Account__c": "0015g00000AbCdEAAV",
        "Account__r": {
            "attributes": {"type": "Account", "url": "/services/data/v61.0/sobjects/Account/0015g00000AbCdEAAV"},
            "Name": f"Customer {n} GmbH",
            "AccountNumber": f"ACC-{n:06d}",
        },
        "Requester__c": "0055g00000XyZaBAAV",
        "Requester__r": {
            "attributes": {"type": "User", "url": "/services/data/v61.0/sobjects/User/0055g00000XyZaBAAV"},
            "Name": "Dana Rep",
            "Email": "dana.rep@vendor.example",
        },
        "Requester_Team__c": "EMEA Enterprise",
        "Customer_Segment__c": rng.choice(["Enterprise", "Mid-Market", "SMB", "Public Sector"]),
        "Category__c": rng.choice(_CATEGORIES),
        "Baseline_Seats__c": baseline,
        "Baseline_Term_End__c": "2026-12-31",
        "Baseline_Environments__c": "Production",
        "Baseline_Regions__c": "EMEA",
        "Baseline_Features__c": "SSO;Audit Log",
        "Requested_Seats__c": baseline + rng.randrange(1, 500),
        "Requested_Term_End__c": "2027-06-30",
        "Requested_Environments__c": "Production;Staging",
        "Requested_Regions__c": ";".join(rng.sample(_REGIONS, 2)),
        "Requested_Features__c": None,
        "Requested_Usage_Rights__c": "Embedding",
        "Requested_Price__c": 1234.5,
        "Requested_Other_Terms__c": None,
        "Use_Case__c": "Rolling the product out to the new APAC support centre.\nNeeds 105 seats.",
        "Justification__c": "Strategic account; renewal in Q3.",
        "Risk_Exposure__c": None,
        "Adjacent_Features__c": "Analytics;API Access",
        "Revenue_Impact__c": 48000.0,
        "Data_Sensitivity__c": rng.choice(["Public", "Internal", "Confidential", "Regulated"]),
        "User_Base__c": 2500.0,
        "Deployment_Scale__c": 3.0,
        "Requested_Start__c": "2026-12-01",
        "Requested_End__c": "2027-11-30",
    }
    variant = n % 10
    if variant == 7:
        record["Account__r"] = None
        record["Requester__r"] = None
    elif variant == 8:
        record["Category__c"] = "Embedding Rights"
        record["Requested_Seats__c"] = 105.5
    elif variant == 9:
        for key in ("Baseline_Regions__c", "Requested_Regions__c", "Adjacent_Features__c", "Use_Case__c"):
            record[key] = None
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=200_000, help="records to map (default 200000)")
    args = parser.parse_args(argv)
    rng = random.Random(1042)
    variants = [salesforce_record(n, rng) for n in range(500)]
    program = compile_inbound(default_mapping("salesforce"), GOVERNANCE_FIELDS)
    total = max(args.records, 0)
    mapped = errors = 0
    started = time.perf_counter()
    for index in range(total):
        result = program(variants[index % 500])
        mapped += len(result.fields)
        errors += len(result.errors)
    wall = time.perf_counter() - started
    rate = total / wall if wall > 0 else 0.0
    print(f"mapped {total} records ({mapped} top-level fields, {errors} field errors)", file=sys.stderr)
    print(json.dumps({"records": total, "wall_s": round(wall, 3), "records_per_s": round(rate)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
