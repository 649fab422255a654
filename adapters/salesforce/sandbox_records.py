"""The sandbox org's data: the ``License_Exception_Request__c`` schema (per the shared object contract),
Salesforce-style ids, and deterministic, realistic records generated from a seed.

Values are kept exactly as the REST API returns them (numbers as floats, datetimes as
``2026-11-20T10:30:00.000+0000``, dates as ``2026-12-31``, multi-select picklists ``;``-joined), so serving
a page is only a matter of selecting fields.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def id18(id15: str) -> str:
    """Salesforce's case-safe 18-character id: three checksum characters encode which of the 15 are
    upper case."""
    if len(id15) != 15:
        raise ValueError("a 15-character id is required")
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if "A" <= char <= "Z")
        suffix += _CHECKSUM_ALPHABET[bits]
    return id15 + suffix


def make_id(prefix: str, number: int, pod: str = "5g") -> str:
    """An 18-character id with a 3-character key prefix (``a0X``, ``001``, ``005``, ``04l`` …)."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return id18(prefix + pod + digits.rjust(10, "0"))


def format_datetime(moment: datetime) -> str:
    """REST API datetime: UTC with milliseconds and ``+0000``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "+0000")


def parse_datetime(value: str) -> datetime:
    """Accept the REST form (``+0000``), ISO 8601 (``Z``/``+hh:mm``) and SOQL literals."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit() and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"datetime without offset: {value!r}")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: str
    updateable: bool = True
    length: int = 0
    picklist: tuple[str, ...] = ()
    reference_to: str | None = None
    relationship_name: str | None = None

    def describe(self) -> dict[str, Any]:
        """The field as ``describe`` lists it (the subset of attributes integrations read)."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": self.length,
            "custom": self.name.endswith("__c"),
            "nillable": self.name not in ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp"),
            "createable": self.updateable,
            "updateable": self.updateable,
            "filterable": self.type not in ("textarea",),
            "sortable": self.type not in ("textarea", "multipicklist"),
            "relationshipName": self.relationship_name,
            "referenceTo": [self.reference_to] if self.reference_to else [],
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": value, "validFor": None, "value": value}
                for value in self.picklist
            ],
        }


SEGMENTS = ("Enterprise", "Mid-Market", "SMB", "Public Sector")
CATEGORIES = (
    "Seat Expansion",
    "Deployment Scope",
    "Term Extension",
    "Usage Rights",
    "Geographic Scope",
    "Feature Access",
    "Pricing Deviation",
    "Other",
)
SENSITIVITIES = ("Public", "Internal", "Confidential", "Regulated")
ENVIRONMENTS = ("Production", "Staging", "Development", "Disaster Recovery", "Air-Gapped")
REGIONS = ("NA", "EMEA", "APAC", "LATAM", "China", "GovCloud")
FEATURES = (
    "SSO",
    "Audit Log",
    "Advanced Analytics",
    "API Access",
    "Sandbox",
    "AI Assistant",
    "Data Residency",
)
USAGE_RIGHTS = ("Redistribution", "Embedding", "OEM", "Service Bureau", "Offline Use")
CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP", "JPY")
TEAMS = ("Sales EMEA", "Sales NA", "Sales APAC", "Customer Success", "Partners", "Support")


def request_fields() -> tuple[FieldSpec, ...]:
    """``License_Exception_Request__c`` as the shared object contract defines it."""
    text, area, multi = "string", "textarea", "multipicklist"
    return (
        FieldSpec("Id", "id", "Record ID", updateable=False, length=18),
        FieldSpec("Name", "string", "Request Title", length=80),
        FieldSpec("IsDeleted", "boolean", "Deleted", updateable=False),
        FieldSpec("CreatedDate", "datetime", "Created Date", updateable=False),
        FieldSpec("LastModifiedDate", "datetime", "Last Modified Date", updateable=False),
        FieldSpec("SystemModstamp", "datetime", "System Modstamp", updateable=False),
        FieldSpec(
            "CurrencyIsoCode",
            "picklist",
            "Currency ISO Code",
            length=3,
            picklist=("USD", "EUR", "GBP", "JPY"),
        ),
        FieldSpec(
            "Account__c",
            "reference",
            "Account",
            length=18,
            reference_to="Account",
            relationship_name="Account__r",
        ),
        FieldSpec(
            "Requester__c",
            "reference",
            "Requester",
            length=18,
            reference_to="User",
            relationship_name="Requester__r",
        ),
        FieldSpec("Requester_Team__c", text, "Requester Team", length=80),
        FieldSpec("Customer_Segment__c", "picklist", "Customer Segment", length=255, picklist=SEGMENTS),
        FieldSpec("Category__c", "picklist", "Category", length=255, picklist=CATEGORIES),
        FieldSpec("Baseline_Seats__c", "double", "Baseline Seats"),
        FieldSpec("Baseline_Term_End__c", "date", "Baseline Term End"),
        FieldSpec("Baseline_Environments__c", multi, "Baseline Environments", length=4099, picklist=ENVIRONMENTS),
        FieldSpec("Baseline_Regions__c", multi, "Baseline Regions", length=4099, picklist=REGIONS),
        FieldSpec("Baseline_Features__c", multi, "Baseline Features", length=4099, picklist=FEATURES),
        FieldSpec("Requested_Seats__c", "double", "Requested Seats"),
        FieldSpec("Requested_Term_End__c", "date", "Requested Term End"),
        FieldSpec("Requested_Environments__c", multi, "Requested Environments", length=4099, picklist=ENVIRONMENTS),
        FieldSpec("Requested_Regions__c", multi, "Requested Regions", length=4099, picklist=REGIONS),
        FieldSpec("Requested_Features__c", multi, "Requested Features", length=4099, picklist=FEATURES),
        FieldSpec("Requested_Usage_Rights__c", multi, "Requested Usage Rights", length=4099, picklist=USAGE_RIGHTS),
        FieldSpec("Requested_Price__c", "currency", "Requested Price"),
        FieldSpec("Requested_Other_Terms__c", text, "Requested Other Terms", length=255),
        FieldSpec("Use_Case__c", area, "Use Case", length=32768),
        FieldSpec("Justification__c", area, "Justification", length=32768),
        FieldSpec("Risk_Exposure__c", area, "Risk Exposure", length=32768),
        FieldSpec("Adjacent_Features__c", multi, "Adjacent Features", length=4099, picklist=FEATURES),
        FieldSpec("Revenue_Impact__c", "currency", "Revenue Impact"),
        FieldSpec("Data_Sensitivity__c", "picklist", "Data Sensitivity", length=255, picklist=SENSITIVITIES),
        FieldSpec("User_Base__c", "double", "User Base"),
        FieldSpec("Deployment_Scale__c", "double", "Deployment Scale"),
        FieldSpec("Requested_Start__c", "date", "Requested Start"),
        FieldSpec("Requested_End__c", "date", "Requested End"),
        FieldSpec("Governance_Key__c", text, "Governance Key", length=40),
        FieldSpec("Governance_Status__c", text, "Governance Status", length=40),
        FieldSpec("Governance_Track__c", text, "Governance Track", length=40),
        FieldSpec("Risk_Band__c", text, "Risk Band", length=40),
        FieldSpec("Decision__c", text, "Decision", length=80),
        FieldSpec("Decision_Rationale__c", area, "Decision Rationale", length=32768),
        FieldSpec("Granted_Boundaries__c", area, "Granted Boundaries", length=32768),
        FieldSpec("Entitlement_Effective__c", "date", "Entitlement Effective"),
        FieldSpec("Entitlement_Expires__c", "date", "Entitlement Expires"),
        FieldSpec("Missing_Information__c", area, "Missing Information", length=32768),
        FieldSpec("Missing_Fields__c", area, "Fields to Fill", length=32768),
        FieldSpec("Votes_Waiting__c", text, "Votes Waiting", length=255),
        FieldSpec("Governance_URL__c", "url", "Governance URL", length=255),
    )


ACCOUNT_FIELDS = (
    FieldSpec("Id", "id", "Account ID", updateable=False, length=18),
    FieldSpec("Name", "string", "Account Name", length=255),
    FieldSpec("AccountNumber", "string", "Account Number", length=40),
    FieldSpec(
        "Industry",
        "picklist",
        "Industry",
        length=255,
        picklist=("Technology", "Finance", "Healthcare", "Government", "Retail"),
    ),
)
USER_FIELDS = (
    FieldSpec("Id", "id", "User ID", updateable=False, length=18),
    FieldSpec("Name", "string", "Full Name", updateable=False, length=121),
    FieldSpec("Email", "email", "Email", length=128),
    FieldSpec("Username", "string", "Username", length=80),
)

_COMPANY_A = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Massive",
    "Wonka",
    "Gringotts",
    "Oceanic",
    "Nakatomi",
    "Aperture",
    "Black Mesa",
)
_COMPANY_B = (
    "Industries",
    "Corp",
    "Systems",
    "Labs",
    "Holdings",
    "Logistics",
    "Health",
    "Bank",
    "Energy",
    "Media",
)
_FIRST = (
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "Donald",
    "Sophie",
    "Yukihiro",
    "Guido",
    "Anita",
)
_LAST = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Knuth",
    "Wilson",
    "Matsumoto",
    "van Rossum",
    "Borg",
)
_USE_CASES = (
    "Roll the platform out to the newly acquired subsidiary before the contract renewal.",
    "Run a disaster-recovery copy in a second region for the regulator's resilience test.",
    "Embed the reporting module in the customer's own product for their end clients.",
    "Extend the pilot while procurement finishes the multi-year agreement.",
    "Give the data science team early access to the analytics preview.",
    "Match a competitor's price to keep the account through the budget freeze.",
)


_REQUESTED_FIELDS = (
    "Requested_Seats__c",
    "Requested_Term_End__c",
    "Requested_Environments__c",
    "Requested_Regions__c",
    "Requested_Features__c",
    "Requested_Usage_Rights__c",
    "Requested_Price__c",
    "Requested_Other_Terms__c",
)
_WRITE_BACK_FIELDS = (
    "Governance_Key__c",
    "Governance_Status__c",
    "Governance_Track__c",
    "Risk_Band__c",
    "Decision__c",
    "Decision_Rationale__c",
    "Granted_Boundaries__c",
    "Entitlement_Effective__c",
    "Entitlement_Expires__c",
    "Missing_Information__c",
    "Governance_URL__c",
)
_SOMETIMES_MISSING = (
    "Use_Case__c",
    "Category__c",
    "Revenue_Impact__c",
    "Data_Sensitivity__c",
    "Requester__c",
)


class RecordFactory:
    """Deterministic records for one seed: the same seed always yields the same org."""

    def __init__(self, seed: int, epoch: datetime) -> None:
        self.rng = random.Random(seed)
        self._random = self.rng.random
        self._subsets: dict[tuple[tuple[str, ...], int], list[tuple[str, ...]]] = {}
        self._term_ends = [date(2026, 1, 31) + timedelta(days=30 * month) for month in range(24)]
        self.epoch = epoch
        self.accounts: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        for number in range(1, 121):
            name = f"{self.rng.choice(_COMPANY_A)} {self.rng.choice(_COMPANY_B)} {number}"
            account_id = make_id("001", number)
            self.accounts[account_id] = {
                "Id": account_id,
                "Name": name,
                "AccountNumber": f"ACC-{10000 + number}",
                "Industry": self.rng.choice(ACCOUNT_FIELDS[3].picklist),
            }
        for number in range(1, 41):
            first, last = self.rng.choice(_FIRST), self.rng.choice(_LAST)
            user_id = make_id("005", number)
            login = f"{first}.{last}".lower().replace(" ", "").replace("-", "")
            self.users[user_id] = {
                "Id": user_id,
                "Name": f"{first} {last}",
                "Email": f"{login}{number}@example.com",
                "Username": f"{login}{number}@example.com.sandbox",
            }
        self._account_ids = list(self.accounts)
        self._user_ids = list(self.users)

    def _pick(self, options: Sequence[Any]) -> Any:
        return options[int(self._random() * len(options))]

    def _some(self, options: Sequence[str], most: int) -> tuple[str, ...]:
        """One to ``most`` distinct options, in their declared order."""
        key = (tuple(options), most)
        choices = self._subsets.get(key)
        if choices is None:
            choices = sorted(
                {
                    tuple(
                        sorted(
                            {options[(start + step) % len(options)] for step in range(count)},
                            key=options.index,
                        )
                    )
                    for count in range(1, most + 1)
                    for start in range(len(options))
                }
            )
            self._subsets[key] = choices
        return choices[int(self._random() * len(choices))]

    def record(self, number: int, record_id: str) -> dict[str, Any]:
        """The ``number``-th request: created every few minutes after the epoch, modified up to 3 days
        later at minute resolution (so some records share a ``SystemModstamp``)."""
        pick, chance = self._pick, self._random
        created = self.epoch + timedelta(minutes=7 * number)
        modified = format_datetime(created + timedelta(minutes=int(chance() * 3 * 24 * 60)))
        category = pick(CATEGORIES)
        segment = pick(SEGMENTS)
        account_id = pick(self._account_ids) if chance() > 0.06 else None
        requester_id = pick(self._user_ids) if chance() > 0.05 else None
        size = pick((10, 25, 50, 100, 250, 500, 1000, 2500, 10000))
        term_end = pick(self._term_ends)
        environments = self._some(ENVIRONMENTS[:3], 2)
        regions = self._some(REGIONS[:3], 2)
        features = self._some(FEATURES[:4], 3)
        start = created.date() + timedelta(days=7 + int(chance() * 53))
        account_name = self.accounts[account_id]["Name"] if account_id else "an unnamed customer"
        record: dict[str, Any] = {
            "Id": record_id,
            "Name": f"{category} for {account_name}"[:80],
            "IsDeleted": False,
            "CreatedDate": format_datetime(created),
            "LastModifiedDate": modified,
            "SystemModstamp": modified,
            "CurrencyIsoCode": pick(CURRENCIES),
            "Account__c": account_id,
            "Requester__c": requester_id,
            "Requester_Team__c": pick(TEAMS),
            "Customer_Segment__c": segment,
            "Category__c": category,
            "Baseline_Seats__c": float(size),
            "Baseline_Term_End__c": term_end.isoformat(),
            "Baseline_Environments__c": ";".join(environments),
            "Baseline_Regions__c": ";".join(regions),
            "Baseline_Features__c": ";".join(features),
            **dict.fromkeys(_REQUESTED_FIELDS),
            "Use_Case__c": pick(_USE_CASES),
            "Justification__c": f"Strategic {segment.lower()} account; renewal worth keeping.",
            "Risk_Exposure__c": pick((None, "Sets a precedent for the region.", "Low: time-boxed.")),
            "Adjacent_Features__c": pick((None, "API Access", "SSO;Audit Log")),
            "Revenue_Impact__c": float(pick((500, 5000, 25000, 120000, 750000, 2000000))),
            "Data_Sensitivity__c": pick(SENSITIVITIES),
            "User_Base__c": float(size * pick((1, 2, 5))),
            "Deployment_Scale__c": float(pick((1, 2, 3, 5, 10))),
            "Requested_Start__c": start.isoformat(),
            "Requested_End__c": (start + timedelta(days=pick((30, 90, 180, 365)))).isoformat(),
            **dict.fromkeys(_WRITE_BACK_FIELDS),
        }
        self._requested_terms(record, category, size, term_end, environments, regions, features)
        if chance() < 0.08:  # an incomplete request, as reps file them
            record[pick(_SOMETIMES_MISSING)] = None
        return record

    def _requested_terms(
        self,
        record: dict[str, Any],
        category: str,
        size: int,
        term_end: date,
        environments: tuple[str, ...],
        regions: tuple[str, ...],
        features: tuple[str, ...],
    ) -> None:
        pick = self._pick
        if category == "Seat Expansion":
            record["Requested_Seats__c"] = float(size + pick((5, 25, 100, size)))
        elif category == "Deployment Scope":
            extra = [env for env in ENVIRONMENTS if env not in environments]
            record["Requested_Environments__c"] = ";".join([*environments, pick(extra)])
        elif category == "Term Extension":
            record["Requested_Term_End__c"] = (term_end + timedelta(days=pick((90, 180, 365)))).isoformat()
        elif category == "Usage Rights":
            record["Requested_Usage_Rights__c"] = ";".join(self._some(USAGE_RIGHTS, 2))
        elif category == "Geographic Scope":
            extra = [region for region in REGIONS if region not in regions]
            record["Requested_Regions__c"] = ";".join([*regions, pick(extra)])
        elif category == "Feature Access":
            extra = [feature for feature in FEATURES if feature not in features]
            record["Requested_Features__c"] = pick(extra)
        elif category == "Pricing Deviation":
            record["Requested_Price__c"] = float(pick((9.5, 19.0, 45.0, 120.0)) * size)
        else:
            record["Requested_Other_Terms__c"] = "Allow a named contractor to administer the tenant."
