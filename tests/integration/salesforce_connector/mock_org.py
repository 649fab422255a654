"""A Salesforce org mocked with ``responses`` on the documented wire shapes, and API helpers for the tests.

``MockOrg`` answers the OAuth token endpoint, ``queryAll``/``query`` (with ``nextRecordsUrl`` pages),
``/limits`` and ``PATCH composite/sobjects`` the way Salesforce does: records with ``attributes``, numbers as
floats, relationship objects, ``;``-joined multi-select picklists, ``+0000`` datetimes, error lists
``[{"message", "errorCode"}]``, OAuth errors ``{"error", "error_description"}``, ``Sforce-Limit-Info`` on every
API answer. Only the SOQL the connector sends is interpreted (select list, ``SystemModstamp >=``, ``Id IN``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from flask import Flask
from flask.testing import FlaskClient

LOGIN = "https://login.salesforce.com"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"
INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v62.0"
OBJECT = "License_Exception_Request__c"
ORG_ID = "00D5g000004XyZaEAK"
USER_ID = "0055g00000A1b2CAAR"
IDENTITY = f"{LOGIN}/id/{ORG_ID}/{USER_ID}"
CLIENT_ID = "3MVG9connector.consumer.key"
CLIENT_SECRET = "sf-consumer-secret-5be1c0a7d2"
LOCATOR = "01gD0000002HU6KIAW"
EPOCH = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def record_id(n: int) -> str:
    return f"a0X5g{n:010d}AAA"


def stamp(minutes: float) -> str:
    """A REST datetime ``minutes`` after the epoch: ``2026-11-01T09:07:00.000+0000``."""
    moment = EPOCH + timedelta(minutes=minutes)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "+0000")


def sf_record(n: int, minutes: float | None = None, **overrides: Any) -> dict[str, Any]:
    """One ``License_Exception_Request__c`` row as the REST API returns it (all fields, full shapes)."""
    rid = record_id(n)
    start = date.today() + timedelta(days=20)
    modstamp = stamp(minutes if minutes is not None else n * 7)
    row: dict[str, Any] = {
        "attributes": {"type": OBJECT, "url": f"/services/data/v62.0/sobjects/{OBJECT}/{rid}"},
        "Id": rid,
        "IsDeleted": False,
        "Name": f"Five more seats for pilot {n}",
        "CreatedDate": modstamp,
        "LastModifiedDate": modstamp,
        "SystemModstamp": modstamp,
        "CurrencyIsoCode": "EUR",
        "Category__c": "Seat Expansion",
        "Account__c": "0015g00000AcMeGAAZ",
        "Account__r": {"attributes": {"type": "Account", "url": "/services/data/v62.0/sobjects/Account/"
                                      "0015g00000AcMeGAAZ"}, "Name": "Acme GmbH", "AccountNumber": "CD-1001"},
        "Customer_Segment__c": "Mid-Market",
        "Requester__c": "0055g00000RiTaRAAV",
        "Requester__r": {"attributes": {"type": "User", "url": "/services/data/v62.0/sobjects/User/"
                                        "0055g00000RiTaRAAV"}, "Name": "Rita Rep", "Email": "rita@vendor.example"},
        "Requester_Team__c": "EMEA Sales",
        "Baseline_Seats__c": 100.0,
        "Baseline_Term_End__c": (start + timedelta(days=300)).isoformat(),
        "Baseline_Environments__c": None,
        "Baseline_Regions__c": "EMEA",
        "Baseline_Features__c": None,
        "Requested_Seats__c": 105.0,
        "Requested_Term_End__c": None,
        "Requested_Environments__c": None,
        "Requested_Regions__c": "EMEA;APAC",
        "Requested_Features__c": None,
        "Requested_Usage_Rights__c": None,
        "Requested_Price__c": None,
        "Requested_Other_Terms__c": None,
        "Use_Case__c": "Temporary pilot team for a migration project.",
        "Justification__c": "Renewal in Q1; the pilot decides an upsell.",
        "Risk_Exposure__c": None,
        "Adjacent_Features__c": None,
        "Revenue_Impact__c": 500.0,
        "Data_Sensitivity__c": "Internal",
        "User_Base__c": 5.0,
        "Deployment_Scale__c": None,
        "Requested_Start__c": start.isoformat(),
        "Requested_End__c": (start + timedelta(days=30)).isoformat(),
    }
    row.update(overrides)
    return row


def oauth_error(error: str, description: str) -> tuple[int, dict[str, str], str]:
    return 400, {"Content-Type": "application/json;charset=UTF-8"}, json.dumps(
        {"error": error, "error_description": description})


class MockOrg:
    """The org behind ``responses``: records, sessions, a connected app, API usage and injected faults."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps
        self.records: dict[str, dict[str, Any]] = {}
        self.page_size = 2000
        self.usage = [40, 15000]
        self.calls: Counter[str] = Counter()
        self.soql: list[str] = []
        self.collection_bodies: list[dict[str, Any]] = []
        self.token_requests: list[dict[str, list[str]]] = []
        self.sessions: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.issued: list[str] = []  # every access and refresh token handed out (for leak checks)
        self.faults: dict[str, list[tuple[int, Any, dict[str, str]]]] = {}
        self.record_failures: dict[str, list[dict[str, Any]]] = {}
        self.after_first_page: Callable[[], None] | None = None
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._serial = 0
        rsps.add_callback(responses.POST, TOKEN_URL, callback=self._token)
        rsps.add_callback(responses.GET, f"{API}/queryAll", callback=lambda r: self._api("query_all", r))
        rsps.add_callback(responses.GET, f"{API}/query", callback=lambda r: self._api("query", r))
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(API)}/query/{LOCATOR}\d+-\d+"),
                          callback=lambda r: self._api("query_more", r))
        rsps.add_callback(responses.GET, f"{API}/limits", callback=lambda r: self._api("limits", r))
        rsps.add_callback(responses.PATCH, f"{API}/composite/sobjects",
                          callback=lambda r: self._api("collections", r))
        rsps.add_callback(responses.GET, f"{API}/sobjects/{OBJECT}/describe",
                          callback=lambda r: self._api("describe", r))

    # -- controls -----------------------------------------------------------------------------------------------
    def add(self, *rows: dict[str, Any]) -> None:
        for row in rows:
            self.records[row["Id"]] = row

    def fault(self, kind: str, status: int, body: Any, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``kind`` with ``status`` (0 = answer normally)."""
        self.faults.setdefault(kind, []).extend([(status, body, headers or {})] * times)

    def fail_record(self, rid: str, status_code: str, message: str, times: int = 1) -> None:
        self.record_failures[rid] = [{"statusCode": status_code, "message": message, "fields": []}] * times

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def revoke_refresh_tokens(self) -> None:
        self.refresh_tokens.clear()
        self.sessions.clear()

    # -- OAuth --------------------------------------------------------------------------------------------------
    def _token(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = parse_qs(request.body if isinstance(request.body, str) else (request.body or b"").decode())
        self.token_requests.append(form)
        self.calls["token"] += 1
        if form.get("client_id") != [CLIENT_ID]:
            return oauth_error("invalid_client_id", "client identifier invalid")
        grant = form.get("grant_type", [""])[0]
        if grant == "refresh_token" and form.get("refresh_token", [""])[0] not in self.refresh_tokens:
            return oauth_error("invalid_grant", "expired access/refresh token")
        if grant in ("authorization_code", "refresh_token") and form.get("client_secret") != [CLIENT_SECRET]:
            return oauth_error("invalid_client", "invalid client credentials")
        self._serial += 1
        access = f"{ORG_ID[:15]}!AQ0AQLiveSession{self._serial:04d}xYz"
        body = {"access_token": access, "signature": "dGVzdHNpZ25hdHVyZQ==", "scope": "refresh_token api",
                "instance_url": INSTANCE, "id": IDENTITY, "token_type": "Bearer", "issued_at": "1764320000000"}
        self.sessions.add(access)
        self.issued.append(access)
        if grant == "authorization_code":
            refresh = f"5Aep861RefreshGrant{self._serial:04d}QwErTy"
            self.refresh_tokens.add(refresh)
            self.issued.append(refresh)
            body["refresh_token"] = refresh
        return 200, {"Content-Type": "application/json;charset=UTF-8"}, json.dumps(body)

    # -- REST ---------------------------------------------------------------------------------------------------
    def _api(self, kind: str, request: Any) -> tuple[int, dict[str, str], str]:
        self.calls[kind] += 1
        self.usage[0] += 1
        headers = {"Content-Type": "application/json;charset=UTF-8",
                   "Sforce-Limit-Info": f"api-usage={self.usage[0]}/{self.usage[1]}"}
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.sessions:
            return 401, headers, json.dumps([{"message": "Session expired or invalid",
                                              "errorCode": "INVALID_SESSION_ID"}])
        queued = self.faults.get(kind) or []
        if queued:
            status, body, extra = queued.pop(0)
            if status:  # 0: this call is answered normally (to fail a later one)
                return status, {**headers, **extra}, json.dumps(body)
        return getattr(self, f"_{kind}")(request, headers)  # type: ignore[no-any-return]

    def _limits(self, request: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        used, limit = self.usage
        return 200, headers, json.dumps({"DailyApiRequests": {"Max": limit, "Remaining": limit - used},
                                         "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000}})

    def _describe(self, request: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        names = [k for k in sf_record(1) if k != "attributes" and not k.endswith("__r")]
        names += ["Governance_Key__c", "Governance_Status__c", "Decision__c", "Entitlement_Expires__c"]
        fields = [{"name": n, "type": "string", "updateable": True,
                   "relationshipName": n[:-3] + "__r" if n in ("Account__c", "Requester__c") else None,
                   "referenceTo": ["Account"] if n == "Account__c" else ["User"] if n == "Requester__c" else []}
                  for n in names]
        return 200, headers, json.dumps({"name": OBJECT, "fields": fields})

    def _query(self, request: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        return self._run(request, headers, include_deleted=False)

    def _query_all(self, request: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        return self._run(request, headers, include_deleted=True)

    def _run(self, request: Any, headers: dict[str, str], include_deleted: bool) -> tuple[int, dict[str, str], str]:
        soql = parse_qs(urlsplit(request.url).query)["q"][0]
        self.soql.append(soql)
        match = re.fullmatch(r"SELECT (.+) FROM (\w+)(?: WHERE (.+?))? ORDER BY (.+)", soql)
        assert match, soql
        fields = [f.strip() for f in match.group(1).split(",")]
        rows = [r for r in self.records.values() if include_deleted or not r["IsDeleted"]]
        where = match.group(3) or ""
        if since := re.fullmatch(r"SystemModstamp >= (\S+)", where):
            floor = datetime.fromisoformat(since.group(1).replace("Z", "+00:00"))
            rows = [r for r in rows if datetime.fromisoformat(r["SystemModstamp"]) >= floor]
        elif ids := re.fullmatch(r"Id IN \((.+)\)", where):
            wanted = {i.strip().strip("'") for i in ids.group(1).split(",")}
            rows = [r for r in rows if r["Id"] in wanted]
        else:
            assert not where, where
        rows.sort(key=lambda r: (datetime.fromisoformat(r["SystemModstamp"]), r["Id"]))
        projected = [self._project(r, fields) for r in rows]
        self._serial += 1
        locator = f"{LOCATOR}{self._serial}"
        self._cursors[locator] = projected
        return self._page(locator, 0, headers)

    def _query_more(self, request: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        locator, _, start = urlsplit(request.url).path.rsplit("/", 1)[1].partition("-")
        return self._page(locator, int(start), headers)

    def _page(self, locator: str, start: int, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        rows = self._cursors[locator]
        end = min(len(rows), start + self.page_size)
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows)}
        if end < len(rows):
            body["nextRecordsUrl"] = f"/services/data/v62.0/query/{locator}-{end}"
        body["records"] = rows[start:end]
        if start == 0 and self.after_first_page is not None:
            self.after_first_page()
            self.after_first_page = None
        return 200, headers, json.dumps(body)

    @staticmethod
    def _project(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": row["attributes"]}
        for path in fields:
            if "." not in path:
                out[path] = row[path]
                continue
            relation, name = path.split(".", 1)
            nested = row.get(relation)
            if nested is None:
                out[relation] = None
            else:
                out.setdefault(relation, {"attributes": nested["attributes"]})[name] = nested.get(name)
        return out

    def _collections(self, request: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.collection_bodies.append(body)
        assert body["allOrNone"] is False and len(body["records"]) <= 200
        results = []
        for item in body["records"]:
            assert item["attributes"] == {"type": OBJECT}
            queued = self.record_failures.get(item["id"]) or []
            if queued:
                results.append({"success": False, "errors": [queued[0]]})
                self.record_failures[item["id"]] = queued[1:]
                continue
            row = self.records[item["id"]]
            row.update({k: v for k, v in item.items() if k not in ("attributes", "id")})
            results.append({"id": item["id"], "success": True, "errors": []})
        return 200, headers, json.dumps(results)


def create_connection(client: FlaskClient, admin: dict[str, str], name: str = "sf", **settings: Any) -> Any:
    body = {"name": name, "kind": "salesforce",
            "settings": {k: v for k, v in {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **settings}.items()
                         if v is not None}}
    r = client.post("/api/v1/connections", json=body, headers=admin)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def authorize_web(client: FlaskClient, admin: dict[str, str], name: str = "sf") -> dict[str, Any]:
    """The web server flow through the API: 302 to Salesforce, which returns the admin to the callback."""
    r = client.get(f"/api/v1/connections/{name}/authorize", headers=admin)
    assert r.status_code == 302, r.get_data(as_text=True)
    query = parse_qs(urlsplit(r.headers["Location"]).query)
    done = client.get(f"/oauth/callback?code=aPrxAuthCode{len(query['state'][0])}&state={query['state'][0]}")
    assert done.status_code == 200, done.get_json()
    return dict(done.get_json())


def sync(client: FlaskClient, admin: dict[str, str], name: str = "sf") -> dict[str, Any]:
    r = client.post(f"/api/v1/connections/{name}/sync", headers=admin)
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


def connection(client: FlaskClient, admin: dict[str, str], name: str = "sf") -> dict[str, Any]:
    return dict(client.get(f"/api/v1/connections/{name}", headers=admin).get_json())


def requests_of(client: FlaskClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return list(client.get("/api/v1/requests?limit=200", headers=headers).get_json()["items"])


def watermark(app: Flask, name: str = "sf") -> dict[str, Any] | None:
    from connector import connections
    from connector.sync import load_watermark

    with app.app_context():
        conn = connections.find(name)
        assert conn is not None
        return load_watermark(conn.id)


def envelope(record_ids: list[str], notification_ids: list[str], org_id: str = ORG_ID, sobject: str = OBJECT,
             session_id: str | None = None) -> str:
    """A ``notifications`` call as Salesforce sends it (Outbound Messaging WSDL)."""
    notes = "".join(
        f"<Notification><Id>{nid}</Id>"
        f'<sObject xsi:type="sf:{sobject}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>{rid}</sf:Id><sf:Name>Five more seats</sf:Name><sf:Requested_Regions__c>EMEA;APAC"
        "</sf:Requested_Regions__c></sObject></Notification>"
        for rid, nid in zip(record_ids, notification_ids, strict=True))
    session = f"<SessionId>{session_id}</SessionId>" if session_id else '<SessionId xsi:nil="true"/>'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org_id}</OrganizationId><ActionId>04k5g000000KxYzAAK</ActionId>{session}"
        f"<EnterpriseUrl>{INSTANCE}/services/Soap/c/62.0/{org_id[:15]}</EnterpriseUrl>"
        f"<PartnerUrl>{INSTANCE}/services/Soap/u/62.0/{org_id[:15]}</PartnerUrl>"
        f"{notes}</notifications></soapenv:Body></soapenv:Envelope>"
    )


def post(client: FlaskClient, body: str) -> Any:
    return client.post("/webhooks/salesforce/sf", data=body.encode(),
                       headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
