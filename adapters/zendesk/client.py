"""The Zendesk REST client: one request wrapper (auth, refresh, 429 handling, pacing) under every call.

Reads use the fewest pages the API allows (1,000-ticket export pages with sideloads, ``show_many`` for up
to 100 records or job statuses); writes never send ``tags`` (which would replace an agent's tags), and a
change to anything an agent owns goes through ``safe_update`` so a concurrent agent edit is never clobbered.
Every call goes to the account's own base URL: a link in a response that points elsewhere is refused
(``ForeignUrl``) before any credential is sent.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from ..tokens import TokenStore
from . import oauth
from .errors import (
    AuthorizationRequired,
    Conflict,
    FatalError,
    ForeignUrl,
    NotFound,
    RateLimited,
    RetriableError,
    ZendeskError,
)
from .jobs import FINISHED_JOB_STATUSES, TicketResult, ticket_results
from .pacing import SlidingWindowPacer
from .people import attach_people, missing_people
from .settings import ZendeskSettings

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
#: Zendesk refuses incremental export start times within the last minute.
EXPORT_MIN_AGE = 60
EXPORT_PAGE_SIZE = 1000
SHOW_MANY_LIMIT = 100
UPDATE_MANY_LIMIT = 100
JOB_STATUSES_PATH = "/api/v2/job_statuses/show_many.json"
#: the wait before a job's first poll; later waits double up to the caller's interval
FIRST_JOB_POLL_SECONDS = 0.25
TICKETS_COUNT_PATH = "/api/v2/tickets/count"
SEARCH_COUNT_PATH = "/api/v2/search/count"
#: The ticket count only feeds a progress bar: it never holds a sync up longer than this.
COUNT_TIMEOUT = 10.0
SIDELOADS = ("users", "organizations")
#: The JSON body a trigger sends to the connector's webhook; Zendesk renders the placeholder.
TRIGGER_WEBHOOK_BODY = '{"ticket_id": "{{ticket.id}}"}'


def job_poll_waits(first_wait: float, poll_interval: float) -> Iterator[float]:
    """The wait before each ``job_statuses`` poll: ``first_wait``, then twice the last up to ``poll_interval``
    (``poll_interval`` from the second poll on when ``first_wait`` is 0). One schedule, for the client and for
    the benchmark that counts its calls."""
    wait = min(first_wait, poll_interval)
    while True:
        yield wait
        wait = min(2 * wait, poll_interval) if wait > 0 else poll_interval


@dataclass(frozen=True)
class ExportPage:
    """One page of the cursor-based incremental ticket export.

    Store ``after_cursor`` once the page is durably handled; poll again later with it, also after
    ``end_of_stream`` (that only means "caught up for now").
    """

    tickets: list[dict[str, Any]]
    after_cursor: str | None
    after_url: str | None
    end_of_stream: bool
    users: list[dict[str, Any]] = field(default_factory=list)
    organizations: list[dict[str, Any]] = field(default_factory=list)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unique_ids(ids: Iterable[int | str]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in ids))


def _custom_fields_list(
    custom_fields: Mapping[Any, Any] | Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    if isinstance(custom_fields, Mapping):
        return [{"id": int(field_id), "value": value} for field_id, value in custom_fields.items()]
    return [{"id": int(item["id"]), "value": item.get("value")} for item in custom_fields]


def ticket_update_body(
    *,
    comment: Mapping[str, Any] | None = None,
    custom_fields: Mapping[Any, Any] | Sequence[Mapping[str, Any]] | None = None,
    status: str | None = None,
    additional_tags: Iterable[str] | None = None,
    updated_stamp: str | None = None,
) -> dict[str, Any]:
    """The ``ticket`` object of an update (also one item of ``update_many`` once it has an ``id``).

    ``comment`` is ``{"body": ..., "public": bool}`` (or ``html_body``); comments are private unless
    ``public`` is true. Tags go through ``additional_tags`` so existing tags stay. With ``updated_stamp``
    (the ``updated_at`` the change was based on) the update is a ``safe_update`` and answers 409 when the
    ticket changed since.
    """
    body: dict[str, Any] = {}
    if comment is not None:
        text_key = "html_body" if "html_body" in comment else "body"
        if not comment.get(text_key):
            raise ValueError("a comment needs a body")
        body["comment"] = {text_key: comment[text_key], "public": bool(comment.get("public", False))}
    if custom_fields:
        body["custom_fields"] = _custom_fields_list(custom_fields)
    if status:
        body["status"] = status
    tags = list(dict.fromkeys(additional_tags or ()))
    if tags:
        body["additional_tags"] = tags
    if updated_stamp:
        body["safe_update"] = True
        body["updated_stamp"] = updated_stamp
    return body


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default one when the URL names none) of an absolute URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: no origin of ours
        return scheme, "", -1
    return scheme, (parts.hostname or "").lower(), port or {"https": 443, "http": 80}.get(scheme)


def _error_fields(body: Mapping[str, Any]) -> tuple[str | None, str]:
    """Code and message of a JSON error body, whichever of Zendesk's shapes it has."""
    error = body.get("error")
    if isinstance(error, Mapping):
        return str(error.get("title") or "error"), str(error.get("message") or "")
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        return str(errors[0].get("code") or errors[0].get("title") or "error"), str(errors[0].get("detail") or "")
    message = body.get("description") or body.get("error_description") or ""
    if body.get("details"):
        message = f"{message} {body['details']}".strip()
    return (str(error) if error else None), str(message)


def _error_from_body(resp: requests.Response) -> tuple[str | None, str]:
    """Zendesk's error shapes: ``{"error": code, "description": ..}``, ``{"error": {"title", "message"}}``,
    ``{"errors": [{"code", "title", "detail"}]}``."""
    try:
        body = resp.json()
    except ValueError:
        return None, (resp.text or "")[:300]
    if not isinstance(body, Mapping):
        return None, str(body)[:300]
    return _error_fields(body)


#: The error class and fallback code for each refused status; anything else is a 5xx or a ``FatalError``.
_ERRORS_BY_STATUS: dict[int, tuple[type[ZendeskError], str]] = {
    401: (AuthorizationRequired, "unauthorized"),
    403: (FatalError, "forbidden"),
    404: (NotFound, "not_found"),
    409: (Conflict, "conflict"),
}


def _refusal(resp: requests.Response, method: str, path: str) -> ZendeskError:
    """The taxonomy's error for a non-2xx answer."""
    status = resp.status_code
    code, message = _error_from_body(resp)
    message = message or f"{method} {path} answered {status}"
    if status in _ERRORS_BY_STATUS:
        cls, fallback = _ERRORS_BY_STATUS[status]
        return cls(code or fallback, message, status)
    if status >= 500:
        return RetriableError(code or "server_error", message, status)
    return FatalError(code or "invalid_request", message, status)


def _throttled(resp: requests.Response) -> bool:
    """A 429, or a 503 that says when to come back: both mean "wait", not "broken"."""
    return resp.status_code == 429 or (resp.status_code == 503 and resp.headers.get("Retry-After") is not None)


def _next_link(body: Mapping[str, Any]) -> str | None:
    """The next page of a list: cursor pagination (``links.next`` while ``meta.has_more``), else ``next_page``."""
    meta, links = body.get("meta") or {}, body.get("links") or {}
    link = links.get("next") if meta.get("has_more") else body.get("next_page")
    return str(link) if link else None


def webhook_body(name: str, endpoint_url: str) -> dict[str, Any]:
    """The ``webhook`` object of an active JSON POST webhook that triggers can notify."""
    return {
        "name": name,
        "status": "active",
        "endpoint": endpoint_url,
        "http_method": "POST",
        "request_format": "json",
        "subscriptions": ["conditional_ticket_events"],
    }


def trigger_body(title: str, webhook_id: str, *, tag: str | None = None,
                 ticket_form_id: int | str | None = None) -> dict[str, Any]:
    """The ``trigger`` object that posts ``TRIGGER_WEBHOOK_BODY`` to the webhook whenever a ticket is created or
    changed while it carries ``tag`` or uses the ticket form ``ticket_form_id`` (exactly one of them)."""
    if (tag is None) == (ticket_form_id is None):
        raise ValueError("a trigger selects tickets by a tag or by a ticket form, exactly one of them")
    condition = ({"field": "current_tags", "operator": "includes", "value": tag} if tag is not None
                 else {"field": "ticket_form_id", "operator": "is", "value": str(ticket_form_id)})
    return {
        "title": title,
        "active": True,
        "conditions": {
            "all": [condition],
            "any": [
                {"field": "update_type", "operator": "is", "value": "Create"},
                {"field": "update_type", "operator": "is", "value": "Change"},
            ],
        },
        "actions": [{"field": "notification_webhook", "value": [webhook_id, TRIGGER_WEBHOOK_BODY]}],
    }


def trigger_notifies(trigger: Mapping[str, Any], webhook_id: str) -> bool:
    """Whether a trigger (as Zendesk lists it) notifies the webhook ``webhook_id``."""
    return any(action.get("field") == "notification_webhook" and (action.get("value") or [None])[0] == webhook_id
               for action in trigger.get("actions") or ())


class ZendeskClient:
    """Everything the connector asks of one Zendesk account.

    ``sleep`` and ``clock`` are injectable so tests can prove that nothing is retried before Zendesk's
    ``Retry-After`` has elapsed and that the export stays within its 10 requests a minute.
    """

    def __init__(
        self,
        settings: ZendeskSettings,
        token_store: TokenStore,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        *,
        max_retry_wait: float = 60.0,
        max_rate_limit_retries: int = 3,
        export_requests_per_minute: int | None = 10,
        refresh_leeway: float = 120.0,
        timeout: float = 30.0,
    ) -> None:
        self.settings = settings
        self.token_store = token_store
        self.session = session or requests.Session()
        self.max_retry_wait = max_retry_wait
        self.max_rate_limit_retries = max_rate_limit_retries
        self.refresh_leeway = refresh_leeway
        self.timeout = timeout
        self.http_calls = 0
        self._sleep = sleep
        self._clock = clock
        self._token: dict[str, Any] | None = None
        self._token_lock = threading.RLock()
        self._export_pacer = (
            SlidingWindowPacer(export_requests_per_minute, 60.0, clock, sleep) if export_requests_per_minute else None
        )

    # ----------------------------------------------------------------------------------------- auth

    def _basic_header(self) -> str:
        if not (self.settings.email and self.settings.api_token):
            raise AuthorizationRequired("missing_api_token", "auth='api_token' needs an email and an api_token")
        raw = f"{self.settings.email}/token:{self.settings.api_token}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def _expiring(self, token: Mapping[str, Any]) -> bool:
        expires_at = token.get("expires_at")
        return expires_at is not None and self._clock() >= float(expires_at) - self.refresh_leeway

    def _current_token(self) -> dict[str, Any]:
        with self._token_lock:
            if self._token is None:
                self._token = self.token_store.load()
            if not self._token or not self._token.get("access_token"):
                raise AuthorizationRequired("no_token", "the connection is not authorized yet")
            if self._expiring(self._token):
                self._token = self._refresh(self._token)
            return self._token

    def _refresh(self, stale: Mapping[str, Any]) -> dict[str, Any]:
        """Refresh once and store the rotated pair before anything uses it.

        Another worker may have refreshed already (which killed our refresh token): the store is checked
        first, and again when Zendesk answers ``invalid_grant``.
        """
        with self._token_lock:
            stored = self.token_store.load()
            if (
                stored
                and stored.get("access_token")
                and stored.get("access_token") != stale.get("access_token")
                and not self._expiring(stored)
            ):
                self._token = stored
                return stored
            basis = stored if stored and stored.get("refresh_token") else stale
            self.http_calls += 1
            try:
                fresh = oauth.refresh(self.settings, basis, clock=self._clock, timeout=self.timeout)
            except AuthorizationRequired:
                latest = self.token_store.load()
                if latest and latest.get("refresh_token") not in (None, basis.get("refresh_token")):
                    self._token = latest
                    return latest
                raise
            self.token_store.save(fresh)
            self._token = fresh
            return fresh

    def _auth_header(self) -> str:
        if self.settings.auth == "api_token":
            return self._basic_header()
        return f"Bearer {self._current_token()['access_token']}"

    # ------------------------------------------------------------------------------ request wrapper

    def url_for(self, path: str) -> str:
        """The URL to call for an API path (``/api/v2/...``) or a link Zendesk returned (``next_page``,
        ``links.next``): an absolute URL must be on the account's own scheme, host and port, else ``ForeignUrl``
        — the bearer token (or the API token) never leaves for another host."""
        parts = urlsplit(path)
        if not (parts.scheme or parts.netloc):
            if not path.startswith("/"):
                raise ValueError(f"API paths start with / (relative to the account): {path!r}")
            return f"{self.settings.base}{path}"
        host = (parts.hostname or "").lower()
        if "\\" in path or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in path) or "@" in parts.netloc:
            raise ForeignUrl(path, host or parts.netloc)
        if _origin(path) != _origin(self.settings.base):
            raise ForeignUrl(path, host or parts.netloc)
        return path

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        paced: bool = False,
        wait_when_throttled: bool = True,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one API call and return its JSON body; every Zendesk call goes through here.

        Refreshes the OAuth token ahead of expiry and once on 401; on 429 (or 503 with ``Retry-After``) sleeps
        ``Retry-After`` when it is at most ``max_retry_wait``, otherwise raises ``RateLimited`` (at once when
        ``wait_when_throttled`` is false: for calls nothing depends on). ``files`` sends a ``multipart/form-data``
        body instead of JSON (field name -> (file name, content, media type)): the Apps API takes an app's zip that
        way. ``timeout`` overrides the client's for this call.
        """
        url = self.url_for(path)
        refreshed = False
        rate_limit_retries = 0
        retry_budget = self.max_rate_limit_retries if wait_when_throttled else 0
        while True:
            authorization, resp = self._send(method, url, params, json, files, paced, timeout)
            if resp.status_code == 401 and self.settings.auth == "oauth" and not refreshed:
                refreshed = True
                self._refresh_after_401(authorization)
                continue
            if _throttled(resp):
                wait = oauth.rate_limit_wait(resp, self._clock())
                if wait > self.max_retry_wait or rate_limit_retries >= retry_budget:
                    raise RateLimited(wait, f"Zendesk asked to wait {wait:g} s before {method} {path}")
                rate_limit_retries += 1
                self._sleep(wait)
                continue
            if not 200 <= resp.status_code < 300:
                raise _refusal(resp, method, path)
            return self._decode(resp, method, path)

    def _send(self, method: str, url: str, params: Mapping[str, Any] | None, json: Any,
              files: Mapping[str, tuple[str, bytes, str]] | None, paced: bool,
              timeout: float | None = None) -> tuple[str, requests.Response]:
        """One HTTP exchange (paced when asked); returns the ``Authorization`` sent and the response."""
        if paced and self._export_pacer is not None:
            self._export_pacer.acquire()
        authorization = self._auth_header()
        self.http_calls += 1
        try:
            resp = self.session.request(
                method,
                url,
                params=params,
                json=json,
                files=files,
                headers={"Authorization": authorization, "Accept": "application/json"},
                timeout=self.timeout if timeout is None else timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableError("connection_error", f"Zendesk unreachable: {exc}") from exc
        return authorization, resp

    def _refresh_after_401(self, authorization: str) -> None:
        """Refresh the token a 401 refused, unless another call already replaced it."""
        with self._token_lock:
            stale = self._token or {}
            if stale.get("access_token") and authorization.endswith(stale["access_token"]):
                self._refresh(stale)

    @staticmethod
    def _decode(resp: requests.Response, method: str, path: str) -> dict[str, Any]:
        """The JSON body of a successful answer (``{}`` when empty; a non-object is wrapped as ``data``)."""
        if resp.status_code == 204 or not resp.content:
            return {}
        try:
            body = orjson.loads(resp.content)  # export pages are megabytes: stdlib json was most of a sync
        except ValueError as exc:
            raise RetriableError("invalid_json", f"{method} {path} returned non-JSON", resp.status_code) from exc
        return body if isinstance(body, dict) else {"data": body}

    def paginate(self, path: str, key: str, *, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item under ``key`` of a list endpoint, page after page, lazily.

        Follows cursor pagination (``links.next`` while ``meta.has_more``) and falls back to offset pagination
        (``next_page``). ``params`` go with the first call only: the links Zendesk returns carry them on. Every
        page goes through ``request``, so a link to another origin is refused (``ForeignUrl``).
        """
        url: str | None = path
        while url:
            body = self.request("GET", url, params=params)
            yield from (dict(item) for item in body.get(key) or () if isinstance(item, Mapping))
            url, params = _next_link(body), None

    # ----------------------------------------------------------------------------------------- reads

    def current_user(self) -> dict[str, Any]:
        """The authorized user (a cheap way to check a connection works)."""
        return dict(self.request("GET", "/api/v2/users/me.json").get("user") or {})

    def export_tickets(
        self,
        start_time: int | None = None,
        cursor: str | None = None,
        *,
        include: Sequence[str] = SIDELOADS,
        per_page: int = EXPORT_PAGE_SIZE,
    ) -> Iterator[ExportPage]:
        """Yield export pages from ``cursor`` (or ``start_time`` when starting over) to the end of stream.

        ``start_time`` is clamped to at least one minute in the past, as Zendesk requires. Requests are
        paced to the endpoint's 10 a minute. The generator is lazy: stop iterating at any page and resume
        later from that page's ``after_cursor``.
        """
        if cursor is None and start_time is None:
            raise ValueError("export_tickets needs a start_time or a cursor")
        common: dict[str, Any] = {"per_page": per_page}
        if include:
            common["include"] = ",".join(include)
        if cursor is not None:
            params = {**common, "cursor": cursor}
        else:
            assert start_time is not None
            latest = int(self._clock()) - EXPORT_MIN_AGE
            params = {**common, "start_time": max(0, min(int(start_time), latest))}
        while True:
            body = self.request("GET", EXPORT_PATH, params=params, paced=True)
            page = ExportPage(
                tickets=list(body.get("tickets") or []),
                after_cursor=body.get("after_cursor"),
                after_url=body.get("after_url"),
                end_of_stream=bool(body.get("end_of_stream")),
                users=list(body.get("users") or []),
                organizations=list(body.get("organizations") or []),
            )
            yield page
            if page.end_of_stream or not page.after_cursor:
                return
            params = {**common, "cursor": page.after_cursor}

    def count_tickets(self, updated_since: int | None = None) -> int:
        """How many tickets an export from ``updated_since`` (Unix time; 0 or None: the whole history) goes
        through, as Zendesk estimates it: ``GET /api/v2/tickets/count`` (``{"count": {"value", "refreshed_at"}}``,
        approximate and refreshed daily above 100,000 tickets), or from a date ``GET /api/v2/search/count`` for
        ``type:ticket updated>=<ISO 8601>`` (``{"count": N}``; the search index lags a few minutes).

        One call, never retried nor slept on (a 429 raises ``RateLimited`` at once) and cut short after
        ``COUNT_TIMEOUT``: the answer only gives a progress bar its end. Raises ``ZendeskError`` when Zendesk gives
        no usable count.
        """
        timeout = min(self.timeout, COUNT_TIMEOUT)
        if not updated_since:
            body = self.request("GET", TICKETS_COUNT_PATH, wait_when_throttled=False, timeout=timeout)
            count = body.get("count")
            value = count.get("value") if isinstance(count, Mapping) else None
        else:
            since = datetime.fromtimestamp(int(updated_since), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = self.request("GET", SEARCH_COUNT_PATH, params={"query": f"type:ticket updated>={since}"},
                                wait_when_throttled=False, timeout=timeout)
            value = body.get("count")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FatalError("invalid_response", f"Zendesk answered no ticket count: {str(body)[:200]}")
        return value

    def _show_ticket(self, ticket_id: int | str, *, include: Sequence[str] = ()) -> dict[str, Any]:
        params = {"include": ",".join(include)} if include else None
        return self.request("GET", f"/api/v2/tickets/{int(ticket_id)}.json", params=params)

    def get_ticket(self, ticket_id: int | str) -> dict[str, Any]:
        """The ticket with ``requester`` and ``organization`` dicts attached (sideloaded in the same call)."""
        body = self._show_ticket(ticket_id, include=SIDELOADS)
        ticket = body.get("ticket")
        if not isinstance(ticket, dict):
            raise NotFound("not_found", f"ticket {ticket_id} not found", 404)
        return self.attach_people([ticket], body.get("users") or [], body.get("organizations") or [])[0]

    def show_many_tickets(self, ticket_ids: Iterable[int | str]) -> list[dict[str, Any]]:
        """The tickets that exist among ``ticket_ids``, requester and organization attached, 100 a call
        (``GET /api/v2/tickets/show_many.json?ids=…&include=users,organizations``); a deleted or unknown id is
        simply absent from the answer."""
        tickets: list[dict[str, Any]] = []
        for chunk in _chunks(_unique_ids(ticket_ids), SHOW_MANY_LIMIT):
            body = self.request("GET", "/api/v2/tickets/show_many.json",
                                params={"ids": ",".join(str(i) for i in chunk), "include": ",".join(SIDELOADS)})
            found = [t for t in body.get("tickets") or [] if isinstance(t, dict)]
            if found:
                tickets.extend(self.attach_people(found, body.get("users") or [], body.get("organizations") or []))
        return tickets

    def show_many_users(self, user_ids: Iterable[int | str]) -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = []
        for chunk in _chunks(_unique_ids(user_ids), SHOW_MANY_LIMIT):
            body = self.request("GET", "/api/v2/users/show_many.json", params={"ids": ",".join(str(i) for i in chunk)})
            users.extend(body.get("users") or [])
        return users

    def show_many_organizations(self, organization_ids: Iterable[int | str]) -> list[dict[str, Any]]:
        organizations: list[dict[str, Any]] = []
        for chunk in _chunks(_unique_ids(organization_ids), SHOW_MANY_LIMIT):
            body = self.request(
                "GET", "/api/v2/organizations/show_many.json", params={"ids": ",".join(str(i) for i in chunk)}
            )
            organizations.extend(body.get("organizations") or [])
        return organizations

    def attach_people(
        self,
        tickets: Sequence[Mapping[str, Any]],
        users: Sequence[Mapping[str, Any]] = (),
        organizations: Sequence[Mapping[str, Any]] = (),
    ) -> list[dict[str, Any]]:
        """``people.attach_people`` after fetching (batched) the requesters/organizations not given."""
        user_ids, org_ids = missing_people(tickets, users, organizations)
        all_users = list(users) + (self.show_many_users(user_ids) if user_ids else [])
        all_orgs = list(organizations) + (self.show_many_organizations(org_ids) if org_ids else [])
        return attach_people(tickets, all_users, all_orgs)

    def comments(self, ticket_id: int | str) -> list[dict[str, Any]]:
        """All comments of a ticket, oldest first (public replies and internal notes)."""
        return list(self.paginate(f"/api/v2/tickets/{int(ticket_id)}/comments.json", "comments"))

    def ticket_fields(self) -> list[dict[str, Any]]:
        """Every ticket field (system and custom), following cursor or offset pagination."""
        return list(self.paginate("/api/v2/ticket_fields.json", "ticket_fields", params={"page[size]": 100}))

    def webhooks(self) -> Iterator[dict[str, Any]]:
        """Every webhook of the account."""
        return self.paginate("/api/v2/webhooks", "webhooks")

    def triggers(self) -> Iterator[dict[str, Any]]:
        """Every trigger of the account."""
        return self.paginate("/api/v2/triggers.json", "triggers")

    # ---------------------------------------------------------------------------------------- writes

    def add_tags(self, ticket_id: int | str, tags: Iterable[str]) -> list[str]:
        """Add tags without touching the ones already there (``PUT .../tags``); returns the ticket's tags."""
        wanted = list(dict.fromkeys(tags))
        if not wanted:
            raise ValueError("add_tags needs at least one tag")
        body = self.request("PUT", f"/api/v2/tickets/{int(ticket_id)}/tags.json", json={"tags": wanted})
        return list(body.get("tags") or [])

    def apply_decision_writeback(
        self,
        ticket_id: int | str,
        *,
        public_comment: str | None = None,
        private_note: str | None = None,
        custom_fields: Mapping[Any, Any] | Sequence[Mapping[str, Any]] | None = None,
        tags: Iterable[str] = (),
        status: str | None = None,
        max_attempts: int = 3,
    ) -> dict[str, Any]:
        """Write a decision onto a ticket without clobbering an agent's concurrent edit.

        The public reply carries the fields, tags (added, never replaced) and status; the internal note
        follows as a second update because a ticket update holds one comment. Each update is a
        ``safe_update``; on 409 the ticket is re-read and the same change re-applied on the new
        ``updated_stamp``, at most ``max_attempts`` times, then ``Conflict`` is raised.
        """
        first = ticket_update_body(
            comment={"body": public_comment, "public": True} if public_comment else None,
            custom_fields=custom_fields,
            status=status,
            additional_tags=tags,
        )
        steps = [first]
        if private_note:
            note = {"body": private_note, "public": False}
            if public_comment:
                steps.append(ticket_update_body(comment=note))
            else:
                first["comment"] = note
        steps = [step for step in steps if step]
        ticket = (self._show_ticket(ticket_id).get("ticket") or {}) if steps else {}
        for done, step in enumerate(steps):
            try:
                ticket = self._safe_update(ticket_id, step, str(ticket.get("updated_at") or ""), max_attempts)
            except ZendeskError as exc:
                exc.partly_written = done > 0  # the reply is on the ticket, its note is not
                raise
        return dict(ticket)

    def _safe_update(
        self, ticket_id: int | str, change: Mapping[str, Any], updated_stamp: str, max_attempts: int
    ) -> dict[str, Any]:
        stamp = updated_stamp
        for attempt in range(1, max_attempts + 1):
            body = {**change, "safe_update": True, "updated_stamp": stamp}
            try:
                response = self.request("PUT", f"/api/v2/tickets/{int(ticket_id)}.json", json={"ticket": body})
                return dict(response.get("ticket") or {})
            except Conflict:
                if attempt == max_attempts:
                    raise
                stamp = str((self._show_ticket(ticket_id).get("ticket") or {}).get("updated_at") or "")
        raise Conflict("UpdateConflict", f"ticket {ticket_id} kept changing", 409)  # pragma: no cover

    def update_many(self, updates: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Submit per-ticket bodies (each with ``id``) 100 per call; returns one job status per call.

        Bodies are ``ticket_update_body(...)`` plus ``id``. A ``tags`` key is refused because it would
        replace the agent's tags: use ``additional_tags``.
        """
        for update in updates:
            if "id" not in update:
                raise ValueError("every update_many item needs the ticket 'id'")
            if "tags" in update:
                raise ValueError("update_many items must not set 'tags' (it replaces them); use additional_tags")
        jobs: list[dict[str, Any]] = []
        for chunk in _chunks(list(updates), UPDATE_MANY_LIMIT):
            body = self.request(
                "PUT", "/api/v2/tickets/update_many.json", json={"tickets": [dict(item) for item in chunk]}
            )
            jobs.append(dict(body.get("job_status") or {}))
        return jobs

    def job_statuses(self, job_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The current status of each job (``GET /api/v2/job_statuses/show_many.json``, 100 ids a call)."""
        statuses: list[dict[str, Any]] = []
        for chunk in _chunks(list(dict.fromkeys(job_ids)), SHOW_MANY_LIMIT):
            body = self.request("GET", JOB_STATUSES_PATH, params={"ids": ",".join(chunk)})
            statuses.extend(dict(status) for status in body.get("job_statuses") or () if isinstance(status, Mapping))
        return statuses

    def wait_for_jobs(
        self, job_ids: Iterable[str], *, poll_interval: float = 1.0, timeout: float = 300.0,
        first_wait: float = FIRST_JOB_POLL_SECONDS,
    ) -> dict[str, dict[str, Any]]:
        """Poll until every job is finished (``completed``/``failed``/``killed``); job id -> final status.

        Each poll is one ``show_many`` call for up to 100 jobs, however many jobs a round submitted. The first poll
        waits ``first_wait`` (Zendesk queues a job before it runs, so asking at once only costs a call), and each
        wait doubles up to ``poll_interval``: a job of a few tickets, done within a second, reaches the ticket's
        agent in about half a second instead of a whole interval, and a job of T seconds costs at most about
        3 + T / ``poll_interval`` calls.
        """
        pending = list(dict.fromkeys(job_ids))
        finished: dict[str, dict[str, Any]] = {}
        deadline = self._clock() + timeout
        waits = job_poll_waits(first_wait, poll_interval)
        wait = next(waits)
        if pending and wait > 0:
            self._sleep(wait)
        while pending:
            statuses = self.job_statuses(pending)
            for status in statuses:
                if status.get("status") in FINISHED_JOB_STATUSES:
                    finished[str(status.get("id"))] = status
            pending = [job_id for job_id in pending if job_id not in finished]
            if not pending:
                break
            wait = next(waits)
            if self._clock() + wait > deadline:
                raise RetriableError("job_timeout", f"jobs still running after {timeout:g} s: {pending}")
            self._sleep(wait)
        return finished

    def apply_updates(
        self, updates: Sequence[Mapping[str, Any]], *, poll_interval: float = 1.0, timeout: float = 300.0
    ) -> dict[int, TicketResult]:
        """``update_many`` + ``wait_for_jobs``: one ``TicketResult`` for every submitted ticket id."""
        jobs = self.update_many(updates)
        finished = self.wait_for_jobs(
            [str(job["id"]) for job in jobs if job.get("id")], poll_interval=poll_interval, timeout=timeout
        )
        results: dict[int, TicketResult] = {}
        for job, chunk in zip(jobs, _chunks(list(updates), UPDATE_MANY_LIMIT), strict=True):
            final = finished.get(str(job.get("id")), job)
            results.update(ticket_results(final, [int(item["id"]) for item in chunk]))
        return results

    # ---------------------------------------------------------------------------------- provisioning

    def create_ticket_field(
        self,
        type: str,
        title: str,
        options: Sequence[tuple[str, str]] | Sequence[Mapping[str, str]] | None = None,
        **attributes: Any,
    ) -> dict[str, Any]:
        """Create a custom ticket field; ``options`` are ``(name, tag)`` pairs for tagger/multiselect."""
        ticket_field: dict[str, Any] = {"type": type, "title": title, **attributes}
        if options:
            ticket_field["custom_field_options"] = [
                {"name": o["name"], "value": o["value"]} if isinstance(o, Mapping) else {"name": o[0], "value": o[1]}
                for o in options
            ]
        body = self.request("POST", "/api/v2/ticket_fields.json", json={"ticket_field": ticket_field})
        return dict(body.get("ticket_field") or {})

    def create_webhook(self, name: str, endpoint_url: str) -> str:
        """Create an active JSON POST webhook for triggers (``conditional_ticket_events``); returns its id."""
        body = self.request("POST", "/api/v2/webhooks", json={"webhook": webhook_body(name, endpoint_url)})
        webhook_id = (body.get("webhook") or {}).get("id")
        if not webhook_id:
            raise FatalError("invalid_response", "Zendesk created no webhook id")
        return str(webhook_id)

    def webhook_signing_secret(self, webhook_id: str) -> str:
        """The secret Zendesk signs this webhook's requests with."""
        body = self.request("GET", f"/api/v2/webhooks/{webhook_id}/signing_secret")
        secret = (body.get("signing_secret") or {}).get("secret")
        if not secret:
            raise FatalError("invalid_response", f"no signing secret for webhook {webhook_id}")
        return str(secret)

    def create_trigger(self, title: str, webhook_id: str, tag: str | None = None, *,
                       ticket_form_id: int | str | None = None) -> dict[str, Any]:
        """A trigger that notifies the webhook with ``{"ticket_id": "{{ticket.id}}"}`` whenever a ticket
        carrying ``tag`` (or using the form ``ticket_form_id``) is created or updated; see ``trigger_body``."""
        trigger = trigger_body(title, webhook_id, tag=tag, ticket_form_id=ticket_form_id)
        body = self.request("POST", "/api/v2/triggers.json", json={"trigger": trigger})
        return dict(body.get("trigger") or {})


__all__ = [
    "EXPORT_PAGE_SIZE",
    "FIRST_JOB_POLL_SECONDS",
    "TRIGGER_WEBHOOK_BODY",
    "ExportPage",
    "ZendeskClient",
    "ZendeskError",
    "job_poll_waits",
    "ticket_update_body",
    "trigger_body",
    "trigger_notifies",
    "webhook_body",
]
