"""A loopback Salesforce org for the demo, end-to-end tests and benchmarks.

It speaks the documented wire formats (OAuth 2.0 endpoints without ``expires_in``, REST ``query``/``queryAll``
with 2,000-record pages and ``nextRecordsUrl``, sObject rows and Collections, ``describe``, ``limits``,
``Sforce-Limit-Info`` on every API response, JSON error lists ``[{"message", "errorCode"}]``, Outbound Message
SOAP envelopes), so code that works here works against a real org. Faults are injected on request.

Run it alone with ``python -m adapters.salesforce.sandbox --port 8765 --records 5000``, or in-process::

    sandbox = SalesforceSandbox(records=5000, seed=7)
    base_url = sandbox.serve()          # background thread on a free loopback port
    settings = sandbox.settings(redirect_uri="http://127.0.0.1:5000/oauth/callback")
    ...
    sandbox.shutdown()

Call kinds (for ``calls``, ``inject_fault`` and ``add_latency``): ``authorize``, ``token``, ``identity``,
``versions``, ``query``, ``query_all``, ``query_more``, ``limits``, ``describe``, ``sobject_row``,
``collections``, ``deploy``, ``deploy_status``; ``outbound_message`` counts messages sent (by
``send_outbound_message`` and by deployed flows).

Started ``bare`` the org has no ``License_Exception_Request__c`` until a Metadata API deployment
(``deployRequest``) creates it; from then on it describes and serves the deployed fields, and a deployed
record-triggered flow that calls an outbound message pushes saved records to its endpoint, batched and retried
as Salesforce's outbound messaging does (``push_log`` lists what was sent).
"""

from __future__ import annotations

import argparse
import json
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from adapters import sandbox_pages
from adapters.loopback import LoopbackServer

from .sandbox_metadata import Deployment, PushRule, inspect_deployment
from .sandbox_oauth import JSON_TYPE, SandboxAuthorizationServer, oauth_error
from .sandbox_outbound import build_envelope, is_ack
from .sandbox_records import (
    ACCOUNT_FIELDS,
    USER_FIELDS,
    FieldSpec,
    RecordFactory,
    format_datetime,
    make_id,
    parse_datetime,
    request_fields,
)
from .sandbox_soql import Query, SoqlError, matches, parse
from .settings import SalesforceSettings

DEFAULT_ORG_ID = "00D000000000001EAA"
DEFAULT_USER_ID = make_id("005", 0, pod="00")  # the integration user
DEFAULT_CLIENT_ID = "3MVG9sandbox.connector.client"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_USERNAME = "integration@sandbox.example.com"
API_VERSION = "62.0"
PAGE_SIZE = 2000
COLLECTION_LIMIT = 200
MAX_OPEN_CURSORS = 50
EPOCH = datetime(2025, 6, 1, tzinfo=UTC)
OAUTH_KINDS = ("authorize", "token", "identity")

_DEFAULT_ERRORS = {
    400: ("MALFORMED_QUERY", "The request could not be understood"),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    404: ("NOT_FOUND", "The requested resource does not exist"),
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support"),
    502: ("SERVER_UNAVAILABLE", "Bad gateway"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable; please retry."),
}


@dataclass
class Fault:
    """Answer the next ``times`` matching calls with ``status`` (or, with ``delay``, only slow them down)."""

    status: int | None
    error_code: str | None
    message: str | None
    times: int
    kinds: frozenset[str] | None
    retry_after: float | None = None
    delay: float = 0.0

    def applies(self, kind: str) -> bool:
        return self.times > 0 and (self.kinds is None or kind in self.kinds)


@dataclass
class OutboundDelivery:
    """What the listener answered to an Outbound Message."""

    status_code: int
    acked: bool
    notification_ids: list[str]
    body: bytes = field(repr=False)


@dataclass
class _Cursor:
    query: Query
    ids: list[str]
    version: str


@dataclass
class _RecordFailure:
    status_code: str
    message: str
    fields: tuple[str, ...]
    times: int


class SalesforceSandbox:
    """An in-memory org: one object (``License_Exception_Request__c`` by default) with its Accounts and
    Users, a connected app, the REST API, and controls to change data and inject faults."""

    def __init__(
        self,
        records: int = 100,
        seed: int = 0,
        *,
        object_name: str = "License_Exception_Request__c",
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        username: str = DEFAULT_USERNAME,
        org_id: str = DEFAULT_ORG_ID,
        api_limit: int = 15000,
        api_used: int = 0,
        page_size: int = PAGE_SIZE,
        jwt_public_key: str | None = None,
        clock: Callable[[], datetime] | None = None,
        epoch: datetime = EPOCH,
        bare: bool = False,
    ) -> None:
        """``epoch`` is when the first generated request was created (one every 7 minutes after it); the
        same ``seed`` and ``epoch`` always give the same org. ``bare``: no request object (and no records)
        until a deployment creates it."""
        self.object_name = object_name
        self.page_size = page_size
        self.calls: Counter[str] = Counter()
        self.base_url: str | None = None
        self._clock = clock or (lambda: datetime.now(UTC))
        self.oauth = SandboxAuthorizationServer(
            client_id=client_id,
            client_secret=client_secret,
            username=username,
            org_id=org_id,
            user_id=DEFAULT_USER_ID,
            clock=self._clock,
        )
        if jwt_public_key:
            self.oauth.register_jwt_key(jwt_public_key)
        self._lock = threading.RLock()
        self._api_used = api_used
        self._api_limit = api_limit
        self._cursors: dict[str, _Cursor] = {}
        self._faults: list[Fault] = []
        self._record_failures: dict[str, _RecordFailure] = {}
        self._loopback = LoopbackServer(self.wsgi_app, "salesforce-sandbox")
        self._serial = 0

        self._fields = {} if bare else {spec.name.lower(): spec for spec in request_fields()}
        records = 0 if bare else records
        self._deploys: dict[str, dict[str, Any]] = {}
        self._push_rules: list[PushRule] = []
        self._pushes: queue.Queue[tuple[PushRule, str] | None] = queue.Queue()
        self._pusher: threading.Thread | None = None
        self.push_log: list[OutboundDelivery] = []
        self._related = {
            "Account": {spec.name.lower(): spec for spec in ACCOUNT_FIELDS},
            "User": {spec.name.lower(): spec for spec in USER_FIELDS},
        }
        factory = RecordFactory(seed, epoch)
        integration_user = {"Id": DEFAULT_USER_ID, "Name": "Integration User", "Email": username, "Username": username}
        self._related_rows: dict[str, dict[str, dict[str, Any]]] = {
            "Account": factory.accounts,
            "User": {**factory.users, DEFAULT_USER_ID: integration_user},
        }
        self._records: dict[str, dict[str, Any]] = {}
        for number in range(1, records + 1):
            record_id = make_id("a0X", number)
            self._records[record_id] = factory.record(number, record_id)
        self._next_number = records + 1
        self._last_stamp = max((r["SystemModstamp"] for r in self._records.values()), default="")

        data = "/services/data/v<version>"
        self._routes = Map(
            [
                Rule("/services/oauth2/authorize", endpoint="authorize", methods=["GET"]),
                Rule("/services/oauth2/token", endpoint="token", methods=["POST"]),
                Rule("/id/<org_id>/<user_id>", endpoint="identity", methods=["GET"]),
                Rule("/services/data", endpoint="versions", methods=["GET"]),
                Rule(f"{data}/query", endpoint="query", methods=["GET"]),
                Rule(f"{data}/queryAll", endpoint="query_all", methods=["GET"]),
                Rule(f"{data}/query/<locator>", endpoint="query_more", methods=["GET"]),
                Rule(f"{data}/queryAll/<locator>", endpoint="query_more", methods=["GET"]),
                Rule(f"{data}/limits", endpoint="limits", methods=["GET"]),
                Rule(f"{data}/sobjects/<sobject>/describe", endpoint="describe", methods=["GET"]),
                Rule(f"{data}/sobjects/<sobject>/<record_id>", endpoint="sobject_row", methods=["GET", "PATCH"]),
                Rule(f"{data}/composite/sobjects", endpoint="collections", methods=["PATCH"]),
                Rule(f"{data}/metadata/deployRequest", endpoint="deploy", methods=["POST"]),
                Rule(f"{data}/metadata/deployRequest/<deploy_id>", endpoint="deploy_status", methods=["GET"]),
                Rule("/lightning/r/<sobject>/<record_id>/view", endpoint="record_page", methods=["GET"]),
            ],
            strict_slashes=False,
        )

    # ------------------------------------------------------------------ identity of the org
    @property
    def client_id(self) -> str:
        return self.oauth.client_id

    @property
    def client_secret(self) -> str:
        return self.oauth.client_secret

    @property
    def username(self) -> str:
        return self.oauth.username

    @property
    def org_id(self) -> str:
        return self.oauth.org_id

    @property
    def user_id(self) -> str:
        return self.oauth.user_id

    # ------------------------------------------------------------------ serving
    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = self._dispatch(Request(environ))
        return response(environ, start_response)

    __call__ = wsgi_app

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a background thread; returns the base URL (login host and instance URL alike)."""
        if self._loopback.running:
            raise RuntimeError("the sandbox is already serving")
        self.base_url = self._loopback.start(host, port)
        return self.base_url

    def shutdown(self) -> None:
        self._loopback.stop()
        if self._pusher is not None:
            self._pushes.put(None)
            self._pusher.join(timeout=10)
            self._pusher = None

    def __enter__(self) -> SalesforceSandbox:
        if not self._loopback.running:
            self.serve()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def settings(self, **overrides: Any) -> SalesforceSettings:
        """Connection settings for this sandbox (serving): login URL, client credentials, allow-listed host."""
        if not self.base_url:
            raise RuntimeError("call serve() first")
        values: dict[str, Any] = {
            "login_url": self.base_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "object": self.object_name,
            "allowed_instance_hosts": (urlsplit(self.base_url).netloc,),
        }
        values.update(overrides)
        return SalesforceSettings(**values)

    # ------------------------------------------------------------------ controls: data
    def record_ids(self, include_deleted: bool = False) -> list[str]:
        """Ids in creation order."""
        with self._lock:
            return [rid for rid, rec in self._records.items() if include_deleted or not rec["IsDeleted"]]

    def related_ids(self, sobject: str) -> list[str]:
        """Ids of the org's ``Account`` or ``User`` rows (for lookups of records a test creates)."""
        with self._lock:
            return list(self._related_rows[sobject])

    def get_record(self, record_id: str) -> dict[str, Any] | None:
        """A copy of the stored record (REST representation, lookups as ids, no ``attributes``)."""
        with self._lock:
            record = self._records.get(record_id)
            return dict(record) if record is not None else None

    def add_record(self, **values: Any) -> str:
        """Create a record as a rep would (unknown fields refused); returns its id."""
        with self._lock:
            if not self._fields:
                raise KeyError(f"{self.object_name} is not deployed in this org yet")
            record_id = make_id("a0X", self._next_number)
            self._next_number += 1
            stamp = self._bump()
            record: dict[str, Any] = dict.fromkeys((spec.name for spec in self._fields.values()), None)
            record.update(
                {
                    "Id": record_id,
                    "Name": f"Request {record_id}",
                    "IsDeleted": False,
                    "CreatedDate": stamp,
                    "LastModifiedDate": stamp,
                    "SystemModstamp": stamp,
                    "CurrencyIsoCode": "USD",
                }
            )
            record.update(self._canonical_values(values))
            self._records[record_id] = record
            self._after_save(record_id, None, record)
            return record_id

    def update_record(self, record_id: str, **values: Any) -> None:
        """Change fields as a user would: ``LastModifiedDate``/``SystemModstamp`` move forward."""
        with self._lock:
            changes = self._canonical_values(values)
            self._apply(record_id, changes)

    def delete_record(self, record_id: str) -> None:
        """Move the record to the recycle bin: ``IsDeleted`` true, only ``queryAll`` still returns it."""
        with self._lock:
            record = self._records[record_id]
            record["IsDeleted"] = True
            record["SystemModstamp"] = self._bump()

    def set_api_usage(self, used: int, limit: int | None = None) -> None:
        """Set the org's daily API usage (and allocation), as reported by ``Sforce-Limit-Info``."""
        with self._lock:
            self._api_used = used
            if limit is not None:
                self._api_limit = limit

    @property
    def api_usage(self) -> tuple[int, int]:
        with self._lock:
            return self._api_used, self._api_limit

    # ------------------------------------------------------------------ controls: faults
    def inject_fault(
        self,
        status: int,
        error_code: str | None = None,
        message: str | None = None,
        *,
        times: int = 1,
        kinds: Iterable[str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``kinds`` (every API call when None; OAuth endpoints only
        when named) with ``status`` and a documented error body (``[{"message", "errorCode"}]`` for the
        API, ``{"error", "error_description"}`` for OAuth). Defaults per status: 401 ``INVALID_SESSION_ID``,
        403 ``REQUEST_LIMIT_EXCEEDED``, 503 ``SERVER_UNAVAILABLE`` …"""
        default_code, default_message = _DEFAULT_ERRORS.get(status, (f"HTTP_{status}", "Injected failure"))
        fault = Fault(
            status=status,
            error_code=error_code or default_code,
            message=message or default_message,
            times=times,
            kinds=frozenset(kinds) if kinds is not None else None,
            retry_after=retry_after,
        )
        with self._lock:
            self._faults.append(fault)

    def add_latency(self, seconds: float, *, times: int = 1, kinds: Iterable[str] | None = None) -> None:
        """Delay the next ``times`` matching calls by ``seconds`` before answering normally."""
        fault = Fault(None, None, None, times, frozenset(kinds) if kinds is not None else None, delay=seconds)
        with self._lock:
            self._faults.append(fault)

    def fail_record_update(
        self,
        record_id: str,
        status_code: str = "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        message: str = "Record is locked for approval",
        fields: Iterable[str] = (),
        *,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` updates of ``record_id`` fail for that record only (a validation rule,
        ``UNABLE_TO_LOCK_ROW`` …), in Collections and single-record PATCH alike."""
        with self._lock:
            self._record_failures[record_id] = _RecordFailure(status_code, message, tuple(fields), times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._record_failures.clear()

    def expire_access_tokens(self) -> None:
        """Every session dies, as after a session timeout: the next API call answers 401."""
        self.oauth.expire_access_tokens()

    def revoke_refresh_tokens(self) -> None:
        """An admin revoked the app's tokens: refresh answers ``invalid_grant``."""
        self.oauth.revoke_refresh_tokens()

    def register_jwt_key(self, public_key_pem: str | bytes) -> None:
        """Upload the certificate's public key to the connected app for the JWT bearer flow."""
        self.oauth.register_jwt_key(public_key_pem)

    # ------------------------------------------------------------------ outbound messages
    def build_outbound_message(
        self,
        record_ids: Iterable[str],
        *,
        fields: Iterable[str] | None = None,
        notification_ids: Iterable[str] | None = None,
        session_id: str | None = None,
    ) -> tuple[bytes, list[str]]:
        """The SOAP envelope Salesforce would send for these records (all the object's own fields unless
        ``fields`` says otherwise) and its notification ids; pass the ids again to simulate a redelivery."""
        ids = list(record_ids)
        specs = [self._field(name) for name in fields] if fields is not None else list(self._fields.values())
        with self._lock:
            if notification_ids is None:
                notes = []
                for _ in ids:
                    self._serial += 1
                    notes.append(make_id("04l", self._serial))
            else:
                notes = list(notification_ids)
            rows = [dict(self._records[record_id]) for record_id in ids]
        if len(notes) != len(ids):
            raise ValueError("one notification id per record is needed")
        body = build_envelope(
            org_id=self.org_id,
            object_name=self.object_name,
            base_url=self.base_url or "https://sandbox.my.salesforce.com",
            api_version=API_VERSION,
            rows=rows,
            fields=specs,
            notification_ids=notes,
            session_id=session_id,
        )
        return body, notes

    def send_outbound_message(
        self,
        url: str,
        record_ids: Iterable[str],
        *,
        fields: Iterable[str] | None = None,
        notification_ids: Iterable[str] | None = None,
        session_id: str | None = None,
        timeout: float = 10.0,
    ) -> OutboundDelivery:
        """POST an Outbound Message for ``record_ids`` to ``url`` as Salesforce's delivery does."""
        body, notes = self.build_outbound_message(
            record_ids, fields=fields, notification_ids=notification_ids, session_id=session_id
        )
        response = requests.post(
            url, data=body, headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}, timeout=timeout
        )
        with self._lock:
            self.calls["outbound_message"] += 1
        return OutboundDelivery(response.status_code, is_ack(response.content), notes, response.content)

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, request: Request) -> Response:
        adapter = self._routes.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return self._api_error(404, "NOT_FOUND", "The requested resource does not exist")
        except MethodNotAllowed as exc:
            allowed = ",".join(sorted(exc.valid_methods or ()))
            message = f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"
            return self._api_error(405, "METHOD_NOT_ALLOWED", message)
        with self._lock:
            self.calls[endpoint] += 1
        self._apply_latency(endpoint)
        fault = self._take_fault(endpoint)
        if endpoint in OAUTH_KINDS:
            if fault is not None:
                return self._oauth_fault(fault)
            handler = getattr(self.oauth, endpoint)
            return handler(request, **args)  # type: ignore[no-any-return]
        if fault is not None:
            with self._lock:
                if fault.status != 401:
                    self._api_used += 1
            return self._api_error(fault.status or 500, fault.error_code or "", fault.message or "", fault.retry_after)
        if endpoint == "record_page":  # a person's browser following a link: no API session, an HTML page
            return self._record_page(**args)
        if endpoint == "versions":
            return self._json(
                [{"label": "Winter '25", "url": f"/services/data/v{API_VERSION}", "version": API_VERSION}]
            )
        if not self.oauth.has_session(request):
            return self._api_error(401, "INVALID_SESSION_ID", "Session expired or invalid", www_auth=True)
        with self._lock:
            if self._api_used >= self._api_limit:
                return self._api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self._api_used += 1
        try:
            return getattr(self, f"_handle_{endpoint}")(request, **args)  # type: ignore[no-any-return]
        except SoqlError as exc:
            return self._api_error(400, exc.code, exc.message)

    def _record_page(self, sobject: str, record_id: str) -> Response:
        """The record as Lightning's record page would show it, in plain HTML (the connector's links lead here)."""
        record = self.get_record(record_id) if sobject == self.object_name else None
        if record is None or record.get("IsDeleted"):
            return sandbox_pages.not_found("Salesforce", f"{sobject} {record_id}")
        fields = {key: value for key, value in record.items() if key not in ("attributes", "IsDeleted")}
        return sandbox_pages.page("Salesforce", str(record.get("Name") or record_id), fields)

    def _apply_latency(self, kind: str) -> None:
        delay = 0.0
        with self._lock:
            for fault in self._faults:
                if fault.status is None and fault.applies(kind):
                    fault.times -= 1
                    delay += fault.delay
            self._faults = [f for f in self._faults if f.times > 0]
        if delay:
            time.sleep(delay)

    def _take_fault(self, kind: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.status is None or not fault.applies(kind):
                    continue
                if fault.kinds is None and kind in OAUTH_KINDS:
                    continue  # unnamed faults are for the REST API
                fault.times -= 1
                self._faults = [f for f in self._faults if f.times > 0]
                return fault
        return None

    # ------------------------------------------------------------------ responses
    def _limit_header(self) -> dict[str, str]:
        with self._lock:
            return {"Sforce-Limit-Info": f"api-usage={self._api_used}/{self._api_limit}"}

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        all_headers = self._limit_header()
        all_headers.update(headers or {})
        payload = orjson.dumps(body)
        return Response(payload, status=status, headers=all_headers, content_type=JSON_TYPE)

    def _api_error(
        self,
        status: int,
        code: str,
        message: str,
        retry_after: float | None = None,
        fields: Iterable[str] | None = None,
        www_auth: bool = False,
    ) -> Response:
        item: dict[str, Any] = {"message": message, "errorCode": code}
        if fields is not None:
            item["fields"] = list(fields)
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after))
        if www_auth:
            headers["WWW-Authenticate"] = "Token"
        return self._json([item], status, headers)

    @staticmethod
    def _oauth_fault(fault: Fault) -> Response:
        status = fault.status or 500
        error = (fault.error_code or "unknown_error") if status < 500 else "unknown_error"
        response = oauth_error(error, fault.message or "retry your request", status)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(int(fault.retry_after))
        return response

    # ------------------------------------------------------------------ REST resources
    def _handle_limits(self, request: Request, version: str) -> Response:
        used, limit = self.api_usage
        return self._json(
            {
                "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DataStorageMB": {"Max": 5, "Remaining": 5},
                "SingleEmail": {"Max": 5000, "Remaining": 5000},
            }
        )

    def _object_fields(self, sobject: str) -> tuple[str, list[FieldSpec]] | None:
        if sobject.lower() == self.object_name.lower() and self._fields:
            return self.object_name, list(self._fields.values())
        for name, specs in self._related.items():
            if sobject.lower() == name.lower():
                return name, list(specs.values())
        return None

    def _handle_describe(self, request: Request, version: str, sobject: str) -> Response:
        found = self._object_fields(sobject)
        if found is None:
            return self._api_error(404, "NOT_FOUND", "The requested resource does not exist")
        name, specs = found
        base = f"/services/data/v{version}/sobjects/{name}"
        return self._json(
            {
                "name": name,
                "label": name.removesuffix("__c").replace("_", " "),
                "custom": name.endswith("__c"),
                "keyPrefix": {"Account": "001", "User": "005"}.get(name, "a0X"),
                "queryable": True,
                "updateable": True,
                "fields": [spec.describe() for spec in specs],
                "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
            }
        )

    def _handle_query(self, request: Request, version: str) -> Response:
        return self._run_query(request, version, include_deleted=False)

    def _handle_query_all(self, request: Request, version: str) -> Response:
        return self._run_query(request, version, include_deleted=True)

    def _run_query(self, request: Request, version: str, include_deleted: bool) -> Response:
        soql = request.args.get("q")
        if not soql:
            return self._api_error(400, "MALFORMED_QUERY", "A query string has to be specified")
        query = parse(soql)
        self._check_query(query)
        with self._lock:
            rows = [
                row
                for row in self._records.values()
                if (include_deleted or not row["IsDeleted"])
                and all(matches(row[self._field(c.field).name], c) for c in query.where)
            ]
            for name, descending, nulls_last in reversed(query.order_by):
                column = self._field(name).name
                present = sorted(
                    (r for r in rows if r[column] is not None), key=lambda r: r[column], reverse=descending
                )
                absent = [r for r in rows if r[column] is None]
                rows = present + absent if nulls_last else absent + present
            if query.limit is not None:
                rows = rows[: query.limit]
            cursor = _Cursor(query, [row["Id"] for row in rows], version)
            self._serial += 1
            locator = make_id("01g", self._serial, pod="5e")
            self._cursors[locator] = cursor
            while len(self._cursors) > MAX_OPEN_CURSORS:  # the oldest cursor is closed, as on a real org
                del self._cursors[next(iter(self._cursors))]
        return self._page(cursor, locator, 0)

    def _handle_query_more(self, request: Request, version: str, locator: str) -> Response:
        cursor_id, _, position = locator.partition("-")
        with self._lock:
            cursor = self._cursors.get(cursor_id)
        if cursor is None or not position.isdigit() or int(position) >= len(cursor.ids):
            return self._api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(cursor, cursor_id, int(position))

    def _page(self, cursor: _Cursor, locator: str, start: int) -> Response:
        """Records ``start`` … ``start + page_size`` of an open cursor. A page may be fetched again (a
        client retrying after a lost response) while the cursor stays open."""
        with self._lock:
            end = min(start + self.page_size, len(cursor.ids))
            plan = [(path, *self._resolve(path)) for path in cursor.query.fields]  # resolved once a page
            records = [self._render(self._records[rid], plan, cursor.version) for rid in cursor.ids[start:end]]
        body: dict[str, Any] = {"totalSize": len(cursor.ids), "done": end >= len(cursor.ids)}
        if end < len(cursor.ids):
            body["nextRecordsUrl"] = f"/services/data/v{cursor.version}/query/{locator}-{end}"
        body["records"] = records
        return self._json(body)

    def _check_query(self, query: Query) -> None:
        if query.object.lower() != self.object_name.lower() or not self._fields:
            raise SoqlError("INVALID_TYPE", f"sObject type '{query.object}' is not supported.")
        for path in query.fields:
            self._resolve(path)
        for name in [c.field for c in query.where] + [name for name, _, _ in query.order_by]:
            if "." in name:
                raise SoqlError("MALFORMED_QUERY", "the sandbox filters and orders on the object's own fields")
            self._resolve(name)

    def _field(self, name: str) -> FieldSpec:
        spec = self._fields.get(name.lower())
        if spec is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{self.object_name}'. If you are attempting to use a custom "
                "field, be sure to append the '__c' after the custom field name. Please reference your WSDL or "
                "the describe call for the appropriate names.",
            )
        return spec

    def _resolve(self, path: str) -> tuple[FieldSpec, FieldSpec | None]:
        """A select-list path: an own field, or ``<relationship>.<field of the related object>``."""
        relationship, _, name = path.rpartition(".")
        if not relationship:
            return self._field(path), None
        lookup = next(
            (s for s in self._fields.values() if (s.relationship_name or "").lower() == relationship.lower()), None
        )
        related = self._related.get(lookup.reference_to or "", {}) if lookup else {}
        target = related.get(name.lower())
        if lookup is None or target is None:
            self._field(path)  # raises INVALID_FIELD naming the path
        assert lookup is not None and target is not None
        return lookup, target

    def _render(
        self, row: dict[str, Any], plan: list[tuple[str, FieldSpec, FieldSpec | None]], version: str
    ) -> dict[str, Any]:
        """A record as the REST API returns it: ``attributes`` first, relationship fields nested under the
        relationship name with their own ``attributes`` (or ``null`` when the lookup is empty). ``plan`` is the
        select list, each path with what ``_resolve`` makes of it."""
        out: dict[str, Any] = {
            "attributes": {
                "type": self.object_name,
                "url": f"/services/data/v{version}/sobjects/{self.object_name}/{row['Id']}",
            }
        }
        for _path, spec, target in plan:
            if target is None:
                out[spec.name] = row[spec.name]
                continue
            relationship, related_type, related_id = (
                spec.relationship_name or "",
                spec.reference_to or "",
                row[spec.name],
            )
            if related_id is None:
                out.setdefault(relationship, None)
                continue
            nested = out.get(relationship)
            if nested is None:
                url = f"/services/data/v{version}/sobjects/{related_type}/{related_id}"
                nested = out[relationship] = {"attributes": {"type": related_type, "url": url}}
            nested[target.name] = self._related_rows[related_type].get(related_id, {}).get(target.name)
        return out

    def _handle_sobject_row(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        if sobject.lower() != self.object_name.lower():
            return self._related_row(request, version, sobject, record_id)
        with self._lock:
            row = self._records.get(record_id)
        if row is None or row["IsDeleted"]:
            return self._api_error(404, "NOT_FOUND", "The requested resource does not exist")
        if request.method == "GET":
            wanted = request.args.get("fields")
            names = [n.strip() for n in wanted.split(",")] if wanted else [s.name for s in self._fields.values()]
            with self._lock:
                return self._json(self._render(row, [(n, *self._resolve(n)) for n in names], version))
        payload = self._json_body(request)
        if isinstance(payload, Response):
            return payload
        if not isinstance(payload, dict):
            return self._api_error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        changes, problem = self._coerce_changes(payload)
        if problem is not None:
            return problem
        with self._lock:
            full_id, errors = self._record_errors(record_id, changes)
            if errors:
                first = errors[0]
                return self._api_error(400, first["statusCode"], first["message"], fields=first["fields"])
            self._apply(full_id, changes)
        return Response(status=204, headers=self._limit_header())

    def _related_row(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        found = self._object_fields(sobject)
        if found is None:
            return self._api_error(404, "NOT_FOUND", "The requested resource does not exist")
        name = found[0]
        if request.method != "GET":
            return self._api_error(400, "INVALID_OPERATION", f"The sandbox does not update {name} records")
        with self._lock:
            related = self._related_rows[name].get(record_id)
        if related is None:
            return self._api_error(404, "NOT_FOUND", "The requested resource does not exist")
        url = f"/services/data/v{version}/sobjects/{name}/{record_id}"
        return self._json({"attributes": {"type": name, "url": url}, **related})

    def _handle_collections(self, request: Request, version: str) -> Response:
        payload = self._json_body(request)
        if isinstance(payload, Response):
            return payload
        if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
            return self._api_error(400, "JSON_PARSER_ERROR", "records is required")
        items = payload["records"]
        if len(items) > COLLECTION_LIMIT:
            message = "record limit reached. cannot submit more than 200 records into this call"
            return self._api_error(400, "EXCEEDED_ID_LIMIT", message)
        parsed: list[tuple[str | None, dict[str, Any]]] = []
        for item in items:
            if not isinstance(item, dict):
                return self._api_error(400, "JSON_PARSER_ERROR", "each record must be a JSON object")
            attributes = item.get("attributes")
            if not isinstance(attributes, dict) or not attributes.get("type"):
                return self._api_error(400, "INVALID_TYPE", "Must send a concrete entity type.")
            if str(attributes["type"]).lower() != self.object_name.lower():
                return self._api_error(400, "INVALID_TYPE", f"sObject type '{attributes['type']}' is not supported.")
            changes, problem = self._coerce_changes(
                {key: value for key, value in item.items() if key not in ("attributes", "id", "Id")}
            )
            if problem is not None:
                return problem
            record_id = item.get("id") or item.get("Id")
            parsed.append((str(record_id) if record_id else None, changes))
        with self._lock:
            planned: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
            for record_id, changes in parsed:
                if record_id is None:
                    planned.append(("", changes, [_err("MISSING_ARGUMENT", "Id not specified in an update call", [])]))
                else:
                    full_id, errors = self._record_errors(record_id, changes)
                    planned.append((full_id, changes, errors))
            failed = any(errors for _, _, errors in planned)
            all_or_none = bool(payload.get("allOrNone", False))
            results: list[dict[str, Any]] = []
            for full_id, changes, errors in planned:
                if errors:
                    results.append({"success": False, "errors": errors})
                elif all_or_none and failed:
                    rolled_back = _err(
                        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "Record rolled back because not all records were valid and the request was using AllOrNone "
                        "header",
                        [],
                    )
                    results.append({"success": False, "errors": [rolled_back]})
                else:
                    self._apply(full_id, changes)
                    results.append({"id": full_id, "success": True, "errors": []})
        return self._json(results)

    def _json_body(self, request: Request) -> Any:
        try:
            return json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return self._api_error(400, "JSON_PARSER_ERROR", "Unexpected character in the request body")

    def _coerce_changes(self, values: dict[str, Any]) -> tuple[dict[str, Any], Response | None]:
        """Deserialize field values as Salesforce does: an unknown field or a type mismatch fails the call."""
        changes: dict[str, Any] = {}
        for name, value in values.items():
            spec = self._fields.get(name.lower())
            if spec is None:
                message = f"No such column '{name}' on sobject of type {self.object_name}"
                return {}, self._api_error(400, "INVALID_FIELD", message)
            try:
                changes[spec.name] = _coerce(spec, value)
            except (TypeError, ValueError):
                message = (
                    f"Cannot deserialize instance of {spec.type} from {type(value).__name__} value {value!r} "
                    "or request may be missing a required field"
                )
                return {}, self._api_error(400, "JSON_PARSER_ERROR", message)
        return changes, None

    def _record_errors(self, record_id: str, changes: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """The record's 18-character id and the per-record errors an update would meet (lock held)."""
        if len(record_id) not in (15, 18) or not record_id.isalnum() or not record_id.startswith("a0X"):
            return record_id, [
                _err("MALFORMED_ID", f"{self.object_name} ID: id value of incorrect type: {record_id}", ["Id"])
            ]
        full_id = record_id if len(record_id) == 18 else next((r for r in self._records if r[:15] == record_id), "")
        row = self._records.get(full_id)
        if row is None:
            return record_id, [_err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])]
        if row["IsDeleted"]:
            return full_id, [_err("ENTITY_IS_DELETED", "entity is deleted", [])]
        failure = self._record_failures.get(full_id)
        if failure is not None:
            failure.times -= 1
            if failure.times <= 0:
                del self._record_failures[full_id]
            return full_id, [_err(failure.status_code, failure.message, list(failure.fields))]
        read_only = [name for name in changes if not self._fields[name.lower()].updateable]
        if read_only:
            message = (
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings of "
                "this field and verify that it is read/write for your profile or permission set."
            )
            return full_id, [_err("INVALID_FIELD_FOR_INSERT_UPDATE", message, read_only)]
        for name, value in changes.items():
            spec = self._fields[name.lower()]
            if isinstance(value, str) and spec.length and len(value) > spec.length:
                message = f"{spec.label}: data value too large: {value[:40]} (max length={spec.length})"
                return full_id, [_err("STRING_TOO_LONG", message, [spec.name])]
        return full_id, []

    def _apply(self, record_id: str, changes: dict[str, Any]) -> None:
        row = self._records[record_id]
        before = dict(row)
        row.update(changes)
        row["LastModifiedDate"] = row["SystemModstamp"] = self._bump()
        self._after_save(record_id, before, row)

    # ------------------------------------------------------------------ deployments and flows
    def _known_objects(self) -> dict[str, list[str]]:
        known = {name: [spec.name for spec in specs.values()] for name, specs in self._related.items()}
        known["Opportunity"] = ["Id", "Name", "AccountId"]
        if self._fields:
            known[self.object_name] = [spec.name for spec in self._fields.values()]
        return known

    def _handle_deploy(self, request: Request, version: str) -> Response:
        upload = request.files.get("file")
        try:
            options = json.loads(request.form.get("json") or "{}").get("deployOptions") or {}
        except (ValueError, AttributeError):
            return self._api_error(400, "JSON_PARSER_ERROR", "The json part is not a JSON object")
        if upload is None:
            return self._api_error(400, "INVALID_MULTIPART_REQUEST", "Missing the file part with the zip")
        with self._lock:
            deployment, failures = inspect_deployment(upload.read(), self._known_objects())
            self._serial += 1
            deploy_id = make_id("0Af", self._serial)
            check_only = bool(options.get("checkOnly"))
            if not failures and not check_only:
                self._apply_deployment(deployment)
            self._deploys[deploy_id] = _deploy_result(deploy_id, deployment, failures, check_only)
        pending = {**self._deploys[deploy_id], "status": "Pending", "done": False, "success": False,
                   "details": None, "numberComponentsDeployed": 0}
        url = f"{self.base_url}/services/data/v{version}/metadata/deployRequest/{deploy_id}"
        return self._json({"id": deploy_id, "deployOptions": options, "deployResult": pending, "url": url}, 201)

    def _handle_deploy_status(self, request: Request, version: str, deploy_id: str) -> Response:
        with self._lock:
            result = self._deploys.get(deploy_id)
        if result is None:
            return self._api_error(404, "NOT_FOUND", "The requested resource does not exist")
        if request.args.get("includeDetails", "").lower() != "true":
            result = {**result, "details": None}
        return self._json({"id": deploy_id, "deployResult": result})

    def _apply_deployment(self, deployment: Deployment) -> None:
        """The deployed object replaces the request object's schema; records keep their values."""
        for name, specs in deployment.objects.items():
            if name.lower() != self.object_name.lower() and self._fields:
                continue
            self.object_name = name
            self._fields = {spec.name.lower(): spec for spec in specs}
            for row in self._records.values():
                for spec in specs:
                    row.setdefault(spec.name, None)
        rules = [rule for rule in deployment.push_rules if rule.object_name.lower() == self.object_name.lower()]
        if rules:
            self._push_rules = rules

    def _after_save(self, record_id: str, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        for rule in self._push_rules:
            if rule.fires(before, after):
                if self._pusher is None:
                    self._pusher = threading.Thread(target=self._push_loop, name="sf-sandbox-flows", daemon=True)
                    self._pusher.start()
                self._pushes.put((rule, record_id))

    def _push_loop(self) -> None:
        """Send queued pushes as outbound messages, up to 100 records a message, retrying with backoff."""
        while True:
            item = self._pushes.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < 100:
                try:
                    more = self._pushes.get(timeout=0.05)
                except queue.Empty:
                    break
                if more is None:
                    self._pushes.put(None)
                    break
                batch.append(more)
            by_rule: dict[PushRule, list[str]] = {}
            for rule, record_id in batch:
                ids = by_rule.setdefault(rule, [])
                if record_id not in ids:
                    ids.append(record_id)
            for rule, ids in by_rule.items():
                self._push(rule, ids)

    def _push(self, rule: PushRule, ids: list[str], attempts: int = 5) -> None:
        notes = None
        for attempt in range(attempts):
            try:
                body, notes = self.build_outbound_message(ids, fields=rule.fields, notification_ids=notes)
                response = requests.post(rule.endpoint_url, data=body, timeout=10, headers={
                    "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
                delivery = OutboundDelivery(response.status_code, is_ack(response.content), notes, response.content)
            except requests.RequestException as exc:
                delivery = OutboundDelivery(0, False, notes or [], str(exc).encode())
            with self._lock:
                self.calls["outbound_message"] += 1
                self.push_log.append(delivery)
            if delivery.acked:
                return
            time.sleep(min(2.0, 0.2 * 2**attempt))

    def _bump(self) -> str:
        """A new modstamp strictly after every existing one, as the database clock would give."""
        stamp = format_datetime(self._clock())
        if stamp <= self._last_stamp:
            stamp = format_datetime(parse_datetime(self._last_stamp) + timedelta(milliseconds=1))
        self._last_stamp = stamp
        return stamp

    def _canonical_values(self, values: dict[str, Any]) -> dict[str, Any]:
        try:
            return {
                self._fields[name.lower()].name: _coerce(self._fields[name.lower()], v) for name, v in values.items()
            }
        except KeyError as exc:
            raise KeyError(f"{self.object_name} has no field {exc.args[0]}") from None


def _deploy_result(deploy_id: str, deployment: Deployment, failures: list[dict[str, Any]],
                   check_only: bool) -> dict[str, Any]:
    """The finished ``deployResult``, as ``deployRequest/<id>?includeDetails=true`` reports it."""
    now = format_datetime(datetime.now(UTC))
    ok = not failures
    successes = [{"componentType": kind, "fullName": name, "success": True, "problem": None}
                 for kind, name in deployment.components] if ok else []
    return {
        "id": deploy_id, "status": "Succeeded" if ok else "Failed", "done": True, "success": ok,
        "checkOnly": check_only, "createdDate": now, "completedDate": now, "rollbackOnError": True,
        "numberComponentsTotal": len(deployment.components), "numberComponentErrors": len(failures),
        "numberComponentsDeployed": len(deployment.components) if ok else 0,
        "errorMessage": None, "errorStatusCode": None,
        "details": {"componentFailures": failures, "componentSuccesses": successes},
    }


def _err(code: str, message: str, fields: list[str]) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": fields}


def _coerce(spec: FieldSpec, value: Any) -> Any:
    """A JSON value into the stored REST representation of ``spec``'s type."""
    if value is None:
        return None
    kind = spec.type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError("boolean expected")
        return value
    if kind in ("double", "currency", "percent", "int"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError("number expected")
        return float(value)
    if kind == "date":
        datetime.strptime(str(value), "%Y-%m-%d")
        return str(value)
    if kind == "datetime":
        return format_datetime(parse_datetime(str(value)))
    if kind == "multipicklist" and isinstance(value, list | tuple):
        return ";".join(str(item) for item in value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError("string expected")
    return str(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a loopback Salesforce sandbox org.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bare", action="store_true", help="no request object until a deployment creates it")
    args = parser.parse_args(argv)
    sandbox = SalesforceSandbox(records=args.records, seed=args.seed, bare=args.bare)
    server = make_server(args.host, args.port, sandbox.wsgi_app, threaded=True)
    sandbox.base_url = f"http://{args.host}:{server.server_port}"
    print(f"Salesforce sandbox at {sandbox.base_url} ({args.records} records, org {sandbox.org_id})", flush=True)
    print(
        f"client_id={sandbox.client_id} client_secret={sandbox.client_secret} username={sandbox.username}", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
