"""The one HTTP wrapper for the Salesforce REST API.

Every call goes through ``SalesforceClient.request``: bearer auth from the token store, one renewal on
``401 INVALID_SESSION_ID`` (refresh token, or re-running the JWT / client-credentials flow) with the new
token saved before it is used, ``Sforce-Limit-Info`` read from every response, and failures raised as the
taxonomy in ``errors``. The client does not retry transient errors itself: the connector owns the single
retry policy and gets ``RetriableError.retry_after`` to honour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote as url_quote
from urllib.parse import urljoin

import orjson
import requests

from ..retry_after import parse_retry_after
from ..tokens import TokenStore
from . import oauth
from .errors import (
    AuthorizationRequired,
    DailyShareExceeded,
    FatalError,
    LimitExceeded,
    RetriableError,
    SalesforceError,
)
from .settings import SalesforceSettings
from .soql import validate_field_path, validate_object_name

COLLECTION_CHUNK = 200  # sObject Collections maximum per call
DEFAULT_TIMEOUT = (10.0, 120.0)
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
CONCURRENCY_PAUSE_SECONDS = 60.0
RETRIABLE_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"})


@dataclass(frozen=True)
class QueryPage:
    """One page of a query: up to 2,000 records, ``attributes`` removed at every level (relationship
    objects stay nested dicts, or None when the lookup is empty)."""

    records: list[dict[str, Any]]
    done: bool
    total_size: int
    next_records_url: str | None = None


@dataclass(frozen=True)
class RecordError:
    status_code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordResult:
    """The outcome for one record of a Collections update, in request order."""

    id: str
    success: bool
    errors: tuple[RecordError, ...] = ()

    @property
    def retriable(self) -> bool:
        """True when every error is transient (e.g. ``UNABLE_TO_LOCK_ROW``): send this record again later."""
        return not self.success and all(err.status_code in RETRIABLE_CODES for err in self.errors)


@dataclass(frozen=True)
class FieldDescription:
    name: str
    type: str
    relationship_name: str | None = None
    reference_to: tuple[str, ...] = ()
    updateable: bool = False


@dataclass(frozen=True)
class ObjectDescription:
    """The parts of ``describe`` the connector uses to validate mappings."""

    name: str
    fields: tuple[FieldDescription, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def field_names(self) -> frozenset[str]:
        """Field names plus relationship names (``Account__c`` and ``Account__r``)."""
        names = {f.name for f in self.fields}
        names.update(f.relationship_name for f in self.fields if f.relationship_name)
        return frozenset(names)


class CollectionUpdateError(SalesforceError):
    """Raised when a whole Collections chunk fails after earlier chunks succeeded: ``completed`` holds the
    results already obtained, ``cause`` the error of the failing chunk."""

    def __init__(self, cause: SalesforceError, completed: list[RecordResult]) -> None:
        super().__init__(cause.code, cause.message, cause.status, cause.retry_after)
        self.cause = cause
        self.completed = completed
        self.retriable = cause.retriable


class SalesforceClient:
    """REST client for one org. Not thread-safe: use one per worker."""

    def __init__(
        self,
        settings: SalesforceSettings,
        token_store: TokenStore,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.settings = settings
        self.token_store = token_store
        self.session = session or requests.Session()
        self.timeout = timeout
        self.api_usage: tuple[int, int] | None = None
        self.http_calls = 0
        self.token_renewals = 0
        self._describes: dict[str, ObjectDescription] = {}

    # -- limits -------------------------------------------------------------------------------------
    @property
    def usage_share(self) -> float | None:
        """Share of the org's daily API allocation used, from the last ``Sforce-Limit-Info`` seen."""
        if not self.api_usage or self.api_usage[1] <= 0:
            return None
        return self.api_usage[0] / self.api_usage[1]

    def check_daily_limit(self) -> None:
        """Raise ``DailyShareExceeded`` when usage is above ``settings.daily_limit_share``."""
        share = self.usage_share
        if share is not None and self.api_usage and share > self.settings.daily_limit_share:
            raise DailyShareExceeded(self.api_usage[0], self.api_usage[1], self.settings.daily_limit_share)

    # -- token --------------------------------------------------------------------------------------
    def instance_url(self) -> str:
        return self._token()["instance_url"].rstrip("/")

    def record_url(self, sobject: str, record_id: str) -> str:
        """A link a person can open to see the record in Lightning Experience."""
        validate_object_name(sobject)
        return f"{self.instance_url()}/lightning/r/{sobject}/{record_id}/view"

    def _token(self) -> dict[str, Any]:
        token = self.token_store.load()
        if not token or not token.get("access_token"):
            if self.settings.auth == "web_server":
                raise AuthorizationRequired("NOT_AUTHORIZED", "the connection has not been authorized yet")
            token = self._renew(None)
        oauth.check_host(self.settings, token.get("instance_url", ""), "instance_url")
        return token

    def _fresher_token(self, failed: dict[str, Any]) -> dict[str, Any]:
        """The token to retry with: one another worker saved meanwhile, else a renewed one. Re-reading first
        keeps two workers from both spending a refresh token that the org may rotate."""
        stored = self.token_store.load()
        if stored and stored.get("access_token") and stored["access_token"] != failed.get("access_token"):
            oauth.check_host(self.settings, stored.get("instance_url", ""), "instance_url")
            return stored
        return self._renew(failed)

    def _renew(self, token: dict[str, Any] | None) -> dict[str, Any]:
        fresh = oauth.renew(self.settings, token)
        self.token_store.save(fresh)
        self.token_renewals += 1
        return fresh

    # -- the wrapper --------------------------------------------------------------------------------
    def api_path(self, suffix: str) -> str:
        return f"/services/data/v{self.settings.api_version}/{suffix.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
    ) -> requests.Response:
        """Call ``path`` (relative to the instance URL) and return the successful response. ``files``: a
        multipart body (``requests``' form), e.g. the Metadata API's deploy request."""
        if path.startswith(("http://", "https://")) or not path.startswith("/services/"):
            raise ValueError(f"API paths are relative to the instance and start with /services/: {path!r}")
        token = self._token()
        renewed = False
        while True:
            response = self._send(method, token, path, params, json, files)
            if response.status_code == 401 and not renewed and _error_code(response) == "INVALID_SESSION_ID":
                token = self._fresher_token(token)
                renewed = True
                continue
            if response.status_code < 300:
                return response
            raise _error_for(response, renewed)

    def _send(
        self, method: str, token: dict[str, Any], path: str, params: dict[str, Any] | None, json: Any,
        files: Any = None,
    ) -> requests.Response:
        url = urljoin(token["instance_url"].rstrip("/") + "/", path.lstrip("/"))
        headers = {
            "Authorization": f"Bearer {token['access_token']}",
            "Accept": "application/json",
        }
        self.http_calls += 1
        try:
            response = self.session.request(
                method, url, params=params, json=json, files=files, headers=headers, timeout=self.timeout
            )
        except requests.Timeout as exc:
            raise RetriableError("TIMEOUT", f"{method} {path} timed out") from exc
        except requests.RequestException as exc:
            raise RetriableError("CONNECTION_ERROR", f"{method} {path} failed: {type(exc).__name__}") from exc
        self._read_limit_info(response)
        return response

    def _read_limit_info(self, response: requests.Response) -> None:
        match = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self.api_usage = (int(match.group(1)), int(match.group(2)))

    # -- resources ----------------------------------------------------------------------------------
    def query_pages(self, soql: str, include_deleted: bool = True) -> Iterator[QueryPage]:
        """Yield the result one page at a time (``queryAll`` by default, so deleted records come back with
        ``IsDeleted: true``), following ``nextRecordsUrl``. Before each page the daily-share brake is
        checked, so a long backfill stops (``DailyShareExceeded``) instead of starving the org; when the last
        reading was above the share, ``/limits`` is read first to see whether the window has freed calls."""
        resource = "queryAll" if include_deleted else "query"
        share = self.usage_share
        if share is not None and share > self.settings.daily_limit_share:
            self.limits()  # the last reading may be hours old: the rolling window may have freed calls
        self.check_daily_limit()
        body = orjson.loads(self.request("GET", self.api_path(resource), params={"q": soql}).content)
        while True:
            page = _page(body)
            yield page
            if page.done or not page.next_records_url:
                return
            self.check_daily_limit()
            body = orjson.loads(self.request("GET", page.next_records_url).content)

    def query_all(self, soql: str, include_deleted: bool = True) -> list[dict[str, Any]]:
        """All records of a small query in one list (for previews and record fetches, not for sync)."""
        return [record for page in self.query_pages(soql, include_deleted) for record in page.records]

    def describe(self, sobject: str) -> ObjectDescription:
        """Field and relationship names of ``sobject`` (cached per client)."""
        validate_object_name(sobject)
        key = sobject.lower()
        if key not in self._describes:
            raw = self.request("GET", self.api_path(f"sobjects/{sobject}/describe")).json()
            fields = tuple(
                FieldDescription(
                    name=item["name"],
                    type=item.get("type", ""),
                    relationship_name=item.get("relationshipName"),
                    reference_to=tuple(item.get("referenceTo") or ()),
                    updateable=bool(item.get("updateable")),
                )
                for item in raw.get("fields", [])
            )
            self._describes[key] = ObjectDescription(name=raw.get("name", sobject), fields=fields, raw=raw)
        return self._describes[key]

    def limits(self) -> dict[str, Any]:
        """The org's ``/limits`` document (``DailyApiRequests: {Max, Remaining}`` …)."""
        body: dict[str, Any] = self.request("GET", self.api_path("limits")).json()
        daily = body.get("DailyApiRequests")
        if isinstance(daily, dict) and "Max" in daily and "Remaining" in daily:
            self.api_usage = (int(daily["Max"]) - int(daily["Remaining"]), int(daily["Max"]))
        return body

    def get_record(self, sobject: str, record_id: str, fields: Iterable[str] | None = None) -> dict[str, Any]:
        """One record by id (``attributes`` removed, ``Id`` always present); ``fields`` limits the fields."""
        validate_object_name(sobject)
        if not _RECORD_ID.match(record_id):
            raise ValueError(f"invalid Salesforce record id: {record_id!r}")
        params = None
        if fields is not None:
            params = {"fields": ",".join(validate_field_path(f) for f in fields)}
        path = self.api_path(f"sobjects/{sobject}/{url_quote(record_id)}")
        record: dict[str, Any] = strip_attributes(self.request("GET", path, params=params).json())
        # With ``fields``, Salesforce may answer with only those fields: keep the record identifiable.
        record.setdefault("Id", record_id)
        return record

    def update_records(self, sobject: str, records: Sequence[dict[str, Any]]) -> list[RecordResult]:
        """Update fields through sObject Collections (``PATCH composite/sobjects``, ``allOrNone: false``),
        200 records per call. Each dict carries ``Id`` (or ``id``) and the fields to set. One record's
        failure never fails the others; results come back in request order."""
        validate_object_name(sobject)
        bodies = [_collection_record(sobject, record) for record in records]
        results: list[RecordResult] = []
        for start in range(0, len(bodies), COLLECTION_CHUNK):
            chunk = bodies[start : start + COLLECTION_CHUNK]
            try:
                response = self.request(
                    "PATCH",
                    self.api_path("composite/sobjects"),
                    json={"allOrNone": False, "records": chunk},
                )
            except SalesforceError as exc:
                if results:
                    raise CollectionUpdateError(exc, results) from exc
                raise
            results.extend(_record_results(chunk, response.json()))
        return results


def strip_attributes(value: Any) -> Any:
    """Remove the ``attributes`` maps Salesforce adds to every record and relationship object.

    Runs on every record of a backfill, so it only descends into dicts and lists (parsed JSON has no others).
    """
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():
            if key == "attributes":
                continue
            item_kind = type(item)
            out[key] = strip_attributes(item) if item_kind is dict or item_kind is list else item
        return out
    if kind is list:
        return [strip_attributes(item) if type(item) in (dict, list) else item for item in value]
    return value


def _page(body: dict[str, Any]) -> QueryPage:
    if not isinstance(body, dict) or "records" not in body:
        raise FatalError("UNEXPECTED_RESPONSE", "query response has no records")
    return QueryPage(
        records=[strip_attributes(record) for record in body["records"]],
        done=bool(body.get("done", True)),
        total_size=int(body.get("totalSize", len(body["records"]))),
        next_records_url=body.get("nextRecordsUrl"),
    )


def _collection_record(sobject: str, record: dict[str, Any]) -> dict[str, Any]:
    record_id = record.get("Id") or record.get("id")
    if not isinstance(record_id, str) or not _RECORD_ID.match(record_id):
        raise ValueError(f"every record to update needs a valid Id, got {record_id!r}")
    body: dict[str, Any] = {"attributes": {"type": sobject}, "id": record_id}
    for name, value in record.items():
        if name in ("Id", "id", "attributes"):
            continue
        validate_field_path(name)
        body[name] = value
    return body


def _record_results(chunk: list[dict[str, Any]], payload: Any) -> list[RecordResult]:
    if not isinstance(payload, list) or len(payload) != len(chunk):
        raise FatalError("UNEXPECTED_RESPONSE", "Collections response does not match the request")
    results = []
    for sent, item in zip(chunk, payload, strict=True):
        errors = tuple(
            RecordError(
                status_code=str(err.get("statusCode", "UNKNOWN")),
                message=str(err.get("message", "")),
                fields=tuple(err.get("fields") or ()),
            )
            for err in item.get("errors") or ()
        )
        # Failed items carry no id: the request order says which record it was.
        results.append(RecordResult(id=item.get("id") or sent["id"], success=bool(item.get("success")), errors=errors))
    return results


def _error_body(response: requests.Response) -> tuple[str | None, str | None]:
    try:
        body = response.json()
    except ValueError:
        return None, None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict):
        code = body.get("errorCode") or body.get("error")
        message = body.get("message") or body.get("error_description")
        return (str(code) if code else None), (str(message) if message else None)
    return None, None


def _error_code(response: requests.Response) -> str | None:
    return _error_body(response)[0]


def _error_for(response: requests.Response, renewed: bool) -> SalesforceError:
    status = response.status_code
    code, message = _error_body(response)
    code = code or f"HTTP_{status}"
    message = message or response.reason or "request failed"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if code == "REQUEST_LIMIT_EXCEEDED":
        if "concurrent" in message.lower():  # too many long-running requests right now, not the daily cap
            retry_after = retry_after if retry_after is not None else CONCURRENCY_PAUSE_SECONDS
        return LimitExceeded(code, message, status, retry_after)
    if status >= 500 or status == 429 or code in RETRIABLE_CODES:
        return RetriableError(code, message, status, retry_after)
    if status == 401:
        detail = "the session stays invalid after renewing the token" if renewed else message
        return AuthorizationRequired(code, detail, status)
    return FatalError(code, message, status)
