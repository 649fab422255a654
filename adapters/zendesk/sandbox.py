"""A Zendesk stand-in on loopback that speaks the documented wire formats.

The demo, end-to-end tests and benchmarks run against it instead of a real account. It implements OAuth
(authorization code + PKCE, JSON token endpoint, short-lived access tokens, rotating refresh tokens), the
cursor-based incremental ticket export with sideloads, tickets (show, show_many, safe updates, comments,
tags, update_many with job statuses), ticket counts (``tickets/count``, and ``search/count`` for tickets
updated since a moment), users and organizations, ticket fields, webhooks with signing
secrets and triggers that actually fire, the Apps API (uploads checked as Zendesk's builder checks them,
installations, and a stand-in for ZAF's secure-request proxy). Faults are injected on request: 429 with
``Retry-After``, 5xx, expired tokens, the export rate limit, an agent's concurrent edit.

Run it alone with ``python -m adapters.zendesk.sandbox --port 8765 --tickets 500``.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import itertools
import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import requests
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from adapters import sandbox_pages
from adapters.loopback import LoopbackServer

from . import sandbox_search
from . import sandbox_tickets as data
from .sandbox_apps import SandboxApps
from .sandbox_http import JSON, ApiError, invalid, json_body, json_response, record_invalid
from .sandbox_oauth import SandboxOAuth
from .sandbox_webhooks import SandboxWebhooks, WebhookDelivery, normalize_tag

Clock = Callable[[], float]

EXPORT_RATE_LIMIT = 10
SHOW_MANY_LIMIT = 100
UPDATE_MANY_LIMIT = 100
#: how long an ``update_many`` job of the served sandbox runs before its status is completed (``--job-seconds``)
DEFAULT_JOB_SECONDS = 0.5
TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
FIELD_TYPES = (
    "text",
    "textarea",
    "checkbox",
    "date",
    "integer",
    "decimal",
    "regexp",
    "tagger",
    "multiselect",
)


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after: float | None
    path: str | None
    method: str | None


def _ids_param(request: Request) -> list[int]:
    raw = request.args.get("ids", "")
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise invalid("ids must be a comma-separated list of integers") from exc
    if len(ids) > SHOW_MANY_LIMIT:
        raise invalid(f"at most {SHOW_MANY_LIMIT} ids per request")
    return ids


class ZendeskSandbox:
    """An in-process Zendesk account. Call ``serve()`` for a loopback base URL, ``shutdown()`` when done.

    ``export_lag`` reproduces Zendesk leaving changes of the last minute out of the incremental export
    (pass 0 to see changes at once). ``enforce_export_rate_limit`` answers 429 beyond 10 export requests a
    minute. ``clock`` drives every timestamp and expiry, so tests can move time.
    """

    def __init__(
        self,
        tickets: int = 50,
        seed: int = 1,
        *,
        clock: Clock = time.time,
        anchor: float | None = None,
        export_lag: float = 60.0,
        enforce_export_rate_limit: bool = False,
        access_token_ttl: int = 1800,
        refresh_token_ttl: int = 2_592_000,
        client_id: str = "license-exception-connector",
        client_secret: str = "sandbox-client-secret",
        subdomain: str = "sandbox",
        api_tokens: Mapping[str, str] | None = None,
        latency: float = 0.0,
        job_polls_before_complete: int = 1,
        job_seconds: float = 0.0,
        flagged_share: float = 0.85,
    ) -> None:
        self.flagged_share = flagged_share
        self.clock = clock
        self.seed = seed
        self.subdomain = subdomain
        self.api_tokens = dict(api_tokens or {"admin@sandbox.example.com": "sandbox-api-token"})
        self.export_lag = export_lag
        self.enforce_export_rate_limit = enforce_export_rate_limit
        self.latency = latency
        #: a job shows ``working`` for its first polls, and until ``job_seconds`` after it was queued
        self.job_polls_before_complete = job_polls_before_complete
        self.job_seconds = job_seconds
        self.base_url: str | None = None
        self.request_log: list[tuple[str, str]] = []
        self.field_ids: dict[str, int] = dict(data.FIELD_IDS)

        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self.oauth = SandboxOAuth(
            clock, random.Random(f"{seed}-tokens"), client_id, client_secret, access_token_ttl, refresh_token_ttl
        )
        self.hooks = SandboxWebhooks(
            clock, random.Random(f"{seed}-webhooks"), self._url, lambda: self.oauth.random_string(32)
        )
        self.apps = SandboxApps(clock, job_polls_before_complete)
        self._faults: list[_Fault] = []
        self._export_requests: deque[float] = deque()
        self._pending_agent_edits: dict[int, JSON] = {}
        self._jobs: dict[str, JSON] = {}
        self._comments: dict[int, list[JSON]] = {}
        self._updated_epoch: dict[int, int] = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._loopback = LoopbackServer(self, "zendesk-sandbox")

        self._fields: dict[int, JSON] = {}
        self._build_fields()
        self._populate(tickets, anchor)
        self._url_map = self._routes()

    # ------------------------------------------------------------------------------------- set-up

    def _build_fields(self) -> None:
        created = data.iso(self.clock() - 500 * 86400)
        for position, (kind, title) in enumerate(data.SYSTEM_FIELDS, start=1):
            field_id = 360009000000 + position
            self._fields[field_id] = self._field_json(field_id, kind, title, [], position, created, removable=False)
        for position, spec in enumerate(data.CUSTOM_FIELDS, start=100):
            field_id = data.FIELD_IDS[spec.name]
            options = [{"name": name, "value": value} for name, value in spec.options]
            self._fields[field_id] = self._field_json(field_id, spec.type, spec.title, options, position, created)

    def _field_json(
        self,
        field_id: int,
        kind: str,
        title: str,
        options: list[JSON],
        position: int,
        created: str,
        *,
        removable: bool = True,
    ) -> JSON:
        field: JSON = {
            "id": field_id,
            "type": kind,
            "title": title,
            "raw_title": title,
            "description": "",
            "raw_description": "",
            "position": position,
            "active": True,
            "required": False,
            "collapsed_for_agents": False,
            "regexp_for_validation": None,
            "title_in_portal": title,
            "raw_title_in_portal": title,
            "visible_in_portal": False,
            "editable_in_portal": False,
            "required_in_portal": False,
            "tag": None,
            "removable": removable,
            "key": None,
            "agent_description": None,
            "created_at": created,
            "updated_at": created,
        }
        if kind in ("tagger", "multiselect"):
            field["custom_field_options"] = [
                {
                    "id": field_id * 10 + n,
                    "name": o["name"],
                    "raw_name": o["name"],
                    "value": o["value"],
                    "default": False,
                }
                for n, o in enumerate(options, start=1)
            ]
        return field

    def _populate(self, count: int, anchor: float | None) -> None:
        now = self.clock()
        start = anchor if anchor is not None else math.floor((now - 90 * 86400) / 86400) * 86400
        span = 60 * 86400
        self._organizations = {
            o["id"]: o for o in data.build_organizations(self._rng, max(5, min(300, count // 20 or 1)), start)
        }
        org_list = list(self._organizations.values())
        user_list = data.build_users(self._rng, max(10, min(2000, count // 4 or 1)), org_list, start)
        self._users = {u["id"]: u for u in user_list}
        requesters = [u for u in user_list if u["role"] == "end-user"]
        self._tickets: dict[int, JSON] = {}
        step = span / max(count, 1)
        for index in range(count):
            created = start + index * step
            updated = created + self._rng.randrange(0, 3600)
            requester = requesters[self._rng.randrange(len(requesters))]
            organization = self._organizations.get(requester["organization_id"])
            if self._rng.random() < 0.04:
                organization = None
            ticket = data.build_ticket(self._rng, index, created, updated, requester, organization,
                                       self.flagged_share)
            self._tickets[ticket["id"]] = ticket
        ordered = sorted(self._tickets.values(), key=lambda t: (t["generated_timestamp"], t["id"]))
        self._order: list[tuple[int, int, int]] = []
        self._key_of: dict[int, tuple[int, int, int]] = {}
        for ticket in ordered:
            key = (ticket["generated_timestamp"], next(self._seq), ticket["id"])
            self._order.append(key)
            self._key_of[ticket["id"]] = key

    # ------------------------------------------------------------------------------ test controls

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on loopback in a background thread and return the base URL."""
        self.base_url = self._loopback.start(host, port)
        return self.base_url

    def shutdown(self) -> None:
        self._loopback.stop()
        self.hooks.close()

    @property
    def client_id(self) -> str:
        return self.oauth.client_id

    @property
    def client_secret(self) -> str:
        return self.oauth.client_secret

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook request sent so far, by triggers or ``fire_webhook``."""
        return self.hooks.deliveries

    def ticket(self, ticket_id: int) -> JSON:
        """A copy of a ticket as the API would show it."""
        with self._lock:
            return self._render_ticket(self._get_ticket(ticket_id))

    def ticket_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._tickets)

    def ticket_comments(self, ticket_id: int) -> list[JSON]:
        with self._lock:
            return [dict(c) for c in self._comments_of(self._get_ticket(ticket_id))]

    def custom_field_value(self, ticket_id: int, name: str) -> Any:
        """The value of a pre-provisioned field by its ``field_ids`` name."""
        field_id = self.field_ids[name]
        with self._lock:
            for item in self._get_ticket(ticket_id)["custom_fields"]:
                if item["id"] == field_id:
                    return item["value"]
        return None

    def issue_token(self, scope: str = "read write", expires_in: int | None = None) -> JSON:
        """Mint a token pair without the browser dance (the token endpoint's response body)."""
        with self._lock:
            return self.oauth.issue(scope, expires_in)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (their refresh tokens still do)."""
        with self._lock:
            self.oauth.expire_access_tokens()

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self.oauth.revoke_refresh_tokens()

    def inject_fault(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests (path substring, method) with ``status``."""
        with self._lock:
            self._faults.append(_Fault(status, times, retry_after, path, method.upper() if method else None))

    def agent_edit(
        self,
        ticket_id: int,
        *,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        custom_fields: Mapping[str, Any] | None = None,
        status: str | None = None,
        comment: str | None = None,
        public: bool = False,
    ) -> JSON:
        """Change a ticket as an agent in the Zendesk UI would (fires triggers); ``custom_fields`` by name."""
        with self._lock:
            change: JSON = {}
            if add_tags:
                change["additional_tags"] = list(add_tags)
            if remove_tags:
                change["remove_tags"] = list(remove_tags)
            if custom_fields:
                change["custom_fields"] = [
                    {"id": self.field_ids.get(name, name), "value": value} for name, value in custom_fields.items()
                ]
            if status:
                change["status"] = status
            if comment:
                change["comment"] = {"body": comment, "public": public}
            ticket = self._apply_update(self._get_ticket(ticket_id), change, data.AGENT_IDS[0], "web")
            self.hooks.fire_triggers(ticket, "Change")
            return self._render_ticket(ticket)

    def edit_before_next_update(self, ticket_id: int, **edit: Any) -> None:
        """Make an agent edit land just before the next API update of this ticket (a write race)."""
        with self._lock:
            self._pending_agent_edits[ticket_id] = edit

    def create_ticket(
        self,
        subject: str,
        description: str,
        *,
        tags: Iterable[str] = (data.LICENSE_EXCEPTION_TAG,),
        custom_fields: Mapping[str, Any] | None = None,
        requester_id: int | None = None,
    ) -> int:
        """A new ticket as a customer or agent would file it (fires triggers); ``custom_fields`` by name."""
        with self._lock:
            requester = self._users.get(requester_id or 0) or next(
                u for u in self._users.values() if u["role"] == "end-user"
            )
            ticket_id = max(self._tickets, default=data.TICKET_BASE_ID - 1) + 1
            values = dict(custom_fields or {})
            now = self.clock()
            tag_list = [normalize_tag(t) for t in tags]
            ticket = data.build_ticket(
                random.Random(ticket_id),
                0,
                now,
                now,
                requester,
                self._organizations.get(requester["organization_id"]),
            )
            ticket.update(
                id=ticket_id,
                subject=subject,
                raw_subject=subject,
                description=description,
                status="new",
                tags=tag_list,
                ticket_form_id=data.EXCEPTION_FORM_ID
                if data.LICENSE_EXCEPTION_TAG in tag_list
                else data.DEFAULT_FORM_ID,
                custom_fields=[{"id": fid, "value": None} for fid in data.FIELD_IDS.values()],
            )
            self._tickets[ticket_id] = ticket
            self._set_custom_fields(ticket, [{"id": self.field_ids[n], "value": v} for n, v in values.items()])
            ticket["fields"] = [dict(item) for item in ticket["custom_fields"]]
            self._touch(ticket)
            self.hooks.fire_triggers(ticket, "Create")
            return ticket_id

    def delete_ticket(self, ticket_id: int) -> None:
        """Soft-delete: the export then shows the ticket with status ``deleted``."""
        with self._lock:
            ticket = self._get_ticket(ticket_id)
            ticket["status"] = "deleted"
            self._touch(ticket)

    def webhook_secret(self, webhook_id: str) -> str:
        with self._lock:
            return self.hooks.secret_of(webhook_id)

    def set_webhook_status(self, webhook_id: str, status: str) -> None:
        """Deactivate (``inactive``) or reactivate (``active``) a webhook, as an admin would in Admin Center;
        triggers fired meanwhile send it nothing."""
        with self._lock:
            self.hooks.set_status(webhook_id, status)

    def fire_webhook(
        self,
        url: str,
        ticket_id: int | str,
        *,
        secret: str | None = None,
        webhook_id: str | None = None,
        timestamp: str | None = None,
        body: bytes | None = None,
    ) -> requests.Response:
        """POST a signed trigger webhook (``{"ticket_id": "<id>"}``) to ``url`` and return the response.

        The secret is the webhook's signing secret when ``webhook_id`` is given.
        """
        if secret is None:
            if webhook_id is None:
                raise ValueError("fire_webhook needs a secret or a webhook_id")
            secret = self.webhook_secret(webhook_id)
        payload = body if body is not None else json.dumps({"ticket_id": str(ticket_id)}).encode()
        return self.hooks.post(url, webhook_id, payload, secret, timestamp)

    def flush_webhooks(self, timeout: float = 5.0) -> None:
        """Wait until every webhook queued by triggers has been delivered (or failed)."""
        self.hooks.flush(timeout)

    # ------------------------------------------------------------------------------------- WSGI

    def _routes(self) -> Map:
        def rule(path: str, handler: Callable[..., Any], methods: Iterable[str] = ("GET",)) -> list[Rule]:
            """Zendesk accepts every path with and without ``.json``."""
            rules = [Rule(path, endpoint=handler, methods=list(methods))]
            if path.endswith(".json"):
                rules.append(Rule(path[: -len(".json")], endpoint=handler, methods=list(methods)))
            return rules

        rules = [
            *rule("/oauth/authorizations/new", self.oauth.authorize),
            *rule("/oauth/tokens", self.oauth.token, ("POST",)),
            *rule("/api/v2/users/me.json", self._h_me),
            *rule("/api/v2/incremental/tickets/cursor.json", self._h_export),
            *rule("/api/v2/tickets/count.json", self._h_tickets_count),
            *rule("/api/v2/search/count.json", self._h_search_count),
            *rule("/api/v2/tickets/show_many.json", self._h_tickets_show_many),
            *rule("/api/v2/tickets/update_many.json", self._h_tickets_update_many, ("PUT",)),
            *rule("/api/v2/tickets/<int:ticket_id>.json", self._h_ticket, ("GET", "PUT")),
            *rule("/api/v2/tickets/<int:ticket_id>/comments.json", self._h_comments),
            *rule("/api/v2/tickets/<int:ticket_id>/tags.json", self._h_tags, ("GET", "PUT", "POST", "DELETE")),
            *rule("/api/v2/users/show_many.json", self._h_users_show_many),
            *rule("/api/v2/users/<int:user_id>.json", self._h_user),
            *rule("/api/v2/organizations/show_many.json", self._h_organizations_show_many),
            *rule("/api/v2/organizations/<int:organization_id>.json", self._h_organization),
            *rule("/api/v2/ticket_fields.json", self._h_ticket_fields, ("GET", "POST")),
            *rule("/api/v2/ticket_fields/<int:field_id>.json", self._h_ticket_field),
            *rule("/api/v2/job_statuses/show_many.json", self._h_job_statuses_show_many),
            *rule("/api/v2/job_statuses/<job_id>.json", self._h_job_status),
            *rule("/api/v2/webhooks", self.hooks.webhooks, ("GET", "POST")),
            *rule("/api/v2/webhooks/<webhook_id>", self.hooks.webhook),
            *rule("/api/v2/webhooks/<webhook_id>/signing_secret", self.hooks.signing_secret),
            *rule("/api/v2/triggers.json", self.hooks.triggers, ("GET", "POST")),
            *rule("/api/v2/apps/uploads.json", self.apps.upload, ("POST",)),
            *rule("/api/v2/apps.json", self.apps.create_app, ("POST",)),
            *rule("/api/v2/apps/owned.json", self.apps.owned),
            *rule("/api/v2/apps/<int:app_id>.json", self.apps.update_app, ("PUT",)),
            *rule("/api/v2/apps/job_statuses/<job_id>.json", self.apps.job_status),
            *rule("/api/v2/apps/installations.json", self.apps.installations_route, ("GET", "POST")),
            *rule("/api/v2/apps/installations/<int:installation_id>.json", self.apps.installation_route,
                  ("GET", "PUT")),
            *rule("/proxy/apps/secure", self.apps.secure_proxy, ("POST",)),
            *rule("/agent/tickets/<int:ticket_id>", self._h_agent_page),
        ]
        return Map(rules, strict_slashes=False)

    def __call__(self, environ: JSON, start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if self.latency:
            time.sleep(self.latency)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        with self._lock:
            self.request_log.append((request.method, request.path))
            try:
                adapter = self._url_map.bind_to_environ(request.environ)
                handler, args = adapter.match()
                self._maybe_fault(request)
                if request.path.startswith("/api/"):
                    self._authenticate(request)
                result = handler(request, **args)
                if isinstance(result, Response):
                    return result
                status, body = result
                return json_response(status, body)
            except ApiError as exc:
                return json_response(exc.status, exc.body, exc.headers)
            except HTTPException as exc:
                return json_response(exc.code or 500, {"error": exc.name, "description": exc.description or ""})

    def _maybe_fault(self, request: Request) -> None:
        for fault in self._faults:
            if fault.path and fault.path not in request.path:
                continue
            if fault.method and fault.method != request.method:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            if fault.status == 429:
                body = {
                    "error": "APIRateLimitExceeded",
                    "description": "Rate limit for this account exceeded",
                }
            elif fault.status >= 500:
                body = {"error": "ServiceUnavailable", "description": "Zendesk is temporarily unavailable"}
            elif fault.status == 401:
                body = {
                    "error": "invalid_token",
                    "error_description": "The access token provided is expired, "
                    "revoked, malformed or invalid for other reasons.",
                }
            else:
                body = {"error": "InjectedFault", "description": f"injected {fault.status}"}
            raise ApiError(fault.status, body, headers)

    def _authenticate(self, request: Request) -> int:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            if self.oauth.access_token_valid(header[len("Bearer ") :].strip()):
                return data.API_USER_ID
            raise ApiError(
                401,
                {
                    "error": "invalid_token",
                    "error_description": "The access token provided is expired, revoked, malformed or "
                    "invalid for other reasons.",
                },
                {"WWW-Authenticate": 'Bearer realm="Zendesk", error="invalid_token"'},
            )
        if header.startswith("Basic "):
            try:
                user, _, secret = base64.b64decode(header[len("Basic ") :]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, secret = "", ""
            email, _, kind = user.partition("/")
            if kind == "token" and email in self.api_tokens and self.api_tokens[email] == secret:
                return data.API_USER_ID
        raise ApiError(401, {"error": "Couldn't authenticate you"})

    # ------------------------------------------------------------------------------------- OAuth

    # ------------------------------------------------------------------------------------ tickets

    def _url(self, path: str) -> str:
        return f"{self.base_url or f'https://{self.subdomain}.zendesk.com'}{path}"

    def _get_ticket(self, ticket_id: int) -> JSON:
        ticket = self._tickets.get(int(ticket_id))
        if ticket is None:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})
        return ticket

    def _render_ticket(self, ticket: JSON) -> JSON:
        rendered = dict(ticket)
        rendered["url"] = self._url(f"/api/v2/tickets/{ticket['id']}.json")
        rendered["tags"] = list(ticket["tags"])
        rendered["custom_fields"] = [dict(item) for item in ticket["custom_fields"]]
        rendered["fields"] = [dict(item) for item in ticket["custom_fields"]]
        return rendered

    def _render_user(self, user: JSON) -> JSON:
        return {**user, "url": self._url(f"/api/v2/users/{user['id']}.json")}

    def _render_organization(self, organization: JSON) -> JSON:
        return {**organization, "url": self._url(f"/api/v2/organizations/{organization['id']}.json")}

    def _sideloads(self, request: Request, tickets: list[JSON]) -> JSON:
        include = {part.strip() for part in request.args.get("include", "").split(",") if part.strip()}
        extra: JSON = {}
        if "users" in include:
            user_ids = dict.fromkeys(
                uid for t in tickets for uid in (t["requester_id"], t["submitter_id"], t["assignee_id"]) if uid
            )
            extra["users"] = [self._render_user(self._users[uid]) for uid in user_ids if uid in self._users]
        if "organizations" in include:
            org_ids = dict.fromkeys(t["organization_id"] for t in tickets if t["organization_id"])
            extra["organizations"] = [
                self._render_organization(self._organizations[oid]) for oid in org_ids if oid in self._organizations
            ]
        return extra

    def _touch(self, ticket: JSON) -> None:
        """Give the ticket a new ``updated_at`` (strictly later, so ``safe_update`` sees every change) and
        move it to the end of the export order."""
        now = int(self.clock())
        previous = self._updated_epoch.get(ticket["id"])
        if previous is None:
            previous = _epoch(ticket["updated_at"]) if ticket.get("updated_at") else 0
        updated = max(now, previous + 1)
        ticket["updated_at"] = data.iso(updated)
        self._updated_epoch[ticket["id"]] = updated
        old_key = self._key_of.get(ticket["id"])
        if old_key is not None:
            index = bisect.bisect_left(self._order, old_key)
            if index < len(self._order) and self._order[index] == old_key:
                self._order.pop(index)
        generated = max(updated, self._order[-1][0] if self._order else updated)
        ticket["generated_timestamp"] = generated
        key = (generated, next(self._seq), ticket["id"])
        bisect.insort(self._order, key)
        self._key_of[ticket["id"]] = key

    def _comments_of(self, ticket: JSON) -> list[JSON]:
        comments = self._comments.get(ticket["id"])
        if comments is None:
            comments = [
                self._comment(ticket, ticket["description"], True, ticket["requester_id"], ticket["created_at"], "web")
            ]
            self._comments[ticket["id"]] = comments
        return comments

    def _comment(self, ticket: JSON, body: str, public: bool, author_id: int, created_at: str, channel: str) -> JSON:
        comment_id = 370000000000 + next(self._ids)
        return {
            "id": comment_id,
            "type": "Comment",
            "author_id": author_id,
            "body": body,
            "html_body": f'<div class="zd-comment"><p>{body}</p></div>',
            "plain_body": body,
            "public": public,
            "attachments": [],
            "audit_id": comment_id + 1,
            "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": created_at,
            "metadata": {},
        }

    def _set_custom_fields(self, ticket: JSON, items: Iterable[Any]) -> None:
        by_id = {item["id"]: item for item in ticket["custom_fields"]}
        for raw in items:
            if not isinstance(raw, Mapping) or "id" not in raw:
                raise record_invalid("custom_fields items need an id and a value")
            try:
                field_id = int(raw["id"])
            except (TypeError, ValueError) as exc:
                raise record_invalid(f"custom field id {raw['id']!r} is not a number") from exc
            field = self._fields.get(field_id)
            if field is None or not field.get("removable", True):
                continue
            value = self._coerce_field_value(field, raw.get("value"))
            if field["type"] in ("tagger", "multiselect"):
                option_tags = {o["value"] for o in field["custom_field_options"]}
                ticket["tags"] = [t for t in ticket["tags"] if t not in option_tags]
                for tag in [value] if isinstance(value, str) else value or []:
                    if tag not in ticket["tags"]:
                        ticket["tags"].append(tag)
            if field_id in by_id:
                by_id[field_id]["value"] = value
            else:
                item = {"id": field_id, "value": value}
                ticket["custom_fields"].append(item)
                by_id[field_id] = item

    @staticmethod
    def _coerce_field_value(field: JSON, value: Any) -> Any:
        kind, title = field["type"], field["title"]
        if value is None or value == "" or value == []:
            return False if kind == "checkbox" else None
        if kind == "tagger":
            allowed = {o["value"] for o in field["custom_field_options"]}
            if value not in allowed:
                raise record_invalid(f"{title}: {value!r} is not one of the field's options")
            return value
        if kind == "multiselect":
            values = value if isinstance(value, list) else [value]
            allowed = {o["value"] for o in field["custom_field_options"]}
            bad = [v for v in values if v not in allowed]
            if bad:
                raise record_invalid(f"{title}: {bad!r} are not options of the field")
            return list(dict.fromkeys(values))
        if kind == "integer":
            try:
                return str(int(str(value)))
            except ValueError as exc:
                raise record_invalid(f"{title}: {value!r} is not an integer") from exc
        if kind == "decimal":
            try:
                float(str(value))
            except ValueError as exc:
                raise record_invalid(f"{title}: {value!r} is not a number") from exc
            return str(value)
        if kind == "date":
            try:
                return date.fromisoformat(str(value)[:10]).isoformat()
            except ValueError as exc:
                raise record_invalid(f"{title}: {value!r} is not a date (YYYY-MM-DD)") from exc
        if kind == "checkbox":
            return bool(value)
        return str(value)

    def _apply_update(self, ticket: JSON, change: Mapping[str, Any], author_id: int, channel: str) -> JSON:
        """Validate and apply one ticket update; everything is checked before anything changes."""
        if ticket["status"] in ("closed", "deleted"):
            raise record_invalid(f"Status: {ticket['status']} prevents ticket update")
        if change.get("safe_update") in (True, "true"):
            stamp = change.get("updated_stamp")
            if not stamp or str(stamp) != ticket["updated_at"]:
                raise ApiError(
                    409,
                    {
                        "error": "UpdateConflict",
                        "description": "Safe Update prevented the update due to outdated ticket data. "
                        "Please fetch the latest ticket data and try again.",
                    },
                )
        status = change.get("status")
        if status is not None and status not in TICKET_STATUSES:
            raise record_invalid(f"Status: {status!r} is not a valid status")
        comment = change.get("comment")
        if comment is not None and (
            not isinstance(comment, Mapping) or not (comment.get("body") or comment.get("html_body"))
        ):
            raise record_invalid("Comment: body can't be blank")
        staged = {
            **ticket,
            "tags": list(ticket["tags"]),
            "custom_fields": [dict(i) for i in ticket["custom_fields"]],
        }
        if "custom_fields" in change:
            self._set_custom_fields(staged, change["custom_fields"] or [])
        if "tags" in change:
            staged["tags"] = list(dict.fromkeys(normalize_tag(t) for t in change["tags"] or []))
        for tag in change.get("additional_tags") or []:
            if normalize_tag(tag) not in staged["tags"]:
                staged["tags"].append(normalize_tag(tag))
        removed = {normalize_tag(t) for t in change.get("remove_tags") or []}
        staged["tags"] = [t for t in staged["tags"] if t not in removed]
        for key in ("subject", "priority", "assignee_id", "type"):
            if key in change:
                staged[key] = change[key]
        if status is not None:
            staged["status"] = status
        ticket.update(staged)
        ticket["fields"] = [dict(item) for item in ticket["custom_fields"]]
        if comment is not None:
            text = comment.get("body") or comment.get("html_body")
            public = comment.get("public", True) not in (False, "false")
            self._comments_of(ticket).append(
                self._comment(ticket, str(text), public, author_id, data.iso(self.clock()), channel)
            )
        self._touch(ticket)
        return ticket

    def _h_me(self, request: Request) -> tuple[int, JSON]:
        return 200, {"user": self._render_user(self._users[data.API_USER_ID])}

    def _h_export(self, request: Request) -> tuple[int, JSON]:
        now = self.clock()
        if self.enforce_export_rate_limit:
            while self._export_requests and self._export_requests[0] <= now - 60:
                self._export_requests.popleft()
            if len(self._export_requests) >= EXPORT_RATE_LIMIT:
                wait = math.ceil(self._export_requests[0] + 60 - now)
                raise ApiError(
                    429,
                    {
                        "error": "TooManyRequests",
                        "description": "Number of allowed incremental export API requests per minute exceeded",
                    },
                    {"Retry-After": str(max(1, wait))},
                )
            self._export_requests.append(now)
        try:
            per_page = min(1000, max(1, int(request.args.get("per_page", 1000))))
        except ValueError as exc:
            raise invalid("per_page must be an integer") from exc
        cursor = request.args.get("cursor")
        if cursor:
            try:
                gts_text, seq_text = base64.urlsafe_b64decode(cursor.encode() + b"==").decode().split(".")
                position = (int(gts_text), int(seq_text), 2**63)
            except (ValueError, UnicodeDecodeError) as exc:
                raise invalid("Invalid cursor", error="InvalidCursor") from exc
            start_index = bisect.bisect_right(self._order, position)
        elif request.args.get("start_time") is not None:
            try:
                start_time = int(request.args["start_time"])
            except ValueError as exc:
                raise invalid("start_time must be a Unix epoch time") from exc
            if start_time > now - 60:
                raise invalid("Too recent start_time. Use a start_time older than 1 minute")
            position = (start_time, -1, -1)
            start_index = bisect.bisect_left(self._order, position)
        else:
            raise invalid("start_time or cursor is required")
        horizon_index = len(self._order)
        if self.export_lag > 0:
            horizon_index = bisect.bisect_right(self._order, (int(now - self.export_lag), 2**63, 2**63))
        stop = max(start_index, min(horizon_index, start_index + per_page))
        keys = self._order[start_index:stop]
        tickets = [self._render_ticket(self._tickets[key[2]]) for key in keys]
        last = keys[-1] if keys else position
        after_cursor = base64.urlsafe_b64encode(f"{last[0]}.{max(last[1], 0)}".encode()).decode().rstrip("=")
        if not keys and not cursor:
            after_cursor = base64.urlsafe_b64encode(f"{position[0] - 1}.{2**62}".encode()).decode().rstrip("=")
        body: JSON = {
            "tickets": tickets,
            "after_url": self._url(f"/api/v2/incremental/tickets/cursor.json?cursor={after_cursor}"),
            "after_cursor": after_cursor,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": stop >= horizon_index,
        }
        body.update(self._sideloads(request, [self._tickets[key[2]] for key in keys]))
        return 200, body

    def _h_tickets_count(self, _request: Request) -> tuple[int, JSON]:
        return 200, sandbox_search.tickets_count(self._tickets.values(), self.clock())

    def _h_search_count(self, request: Request) -> tuple[int, JSON]:
        return 200, sandbox_search.search_count(self._tickets.values(), request.args.get("query"))

    def _h_agent_page(self, _request: Request, ticket_id: int) -> Response:
        """The ticket as an agent sees it, in plain HTML (the connector's "Open in Zendesk" links lead here)."""
        found = self._tickets.get(int(ticket_id))
        if found is None:
            return sandbox_pages.not_found("Zendesk", f"ticket #{ticket_id}")
        ticket = self._render_ticket(found)
        names = {field_id: name for name, field_id in self.field_ids.items()}
        custom = {names.get(f["id"], f"field {f['id']}"): f["value"] for f in ticket.get("custom_fields") or []}
        fields = {"Status": ticket.get("status"), "Tags": ticket.get("tags"), **custom}
        comments = [f"{'Public reply' if c.get('public') else 'Internal note'}: {c.get('body')}"
                    for c in self._comments_of(found)]
        return sandbox_pages.page("Zendesk", f"#{ticket_id} {ticket.get('subject') or ''}", fields,
                                  [("Conversation", comments)])

    def _h_ticket(self, request: Request, ticket_id: int) -> tuple[int, JSON]:
        ticket = self._get_ticket(ticket_id)
        if request.method == "GET":
            return 200, {"ticket": self._render_ticket(ticket), **self._sideloads(request, [ticket])}
        change = json_body(request).get("ticket")
        if not isinstance(change, dict):
            raise invalid("the body needs a 'ticket' object")
        pending = self._pending_agent_edits.pop(ticket_id, None)
        if pending is not None:
            self.agent_edit(ticket_id, **pending)
        self._apply_update(ticket, change, data.API_USER_ID, "api")
        self.hooks.fire_triggers(ticket, "Change")
        comments = self._comments_of(ticket)
        audit = {
            "id": 380000000000 + next(self._ids),
            "ticket_id": ticket_id,
            "created_at": ticket["updated_at"],
            "author_id": data.API_USER_ID,
            "via": {"channel": "api"},
            "events": [comments[-1]] if change.get("comment") else [],
        }
        return 200, {"ticket": self._render_ticket(ticket), "audit": audit}

    def _h_tickets_show_many(self, request: Request) -> tuple[int, JSON]:
        tickets = [self._tickets[i] for i in _ids_param(request) if i in self._tickets]
        return 200, {
            "tickets": [self._render_ticket(t) for t in tickets],
            **self._sideloads(request, tickets),
        }

    def _h_comments(self, request: Request, ticket_id: int) -> tuple[int, JSON]:
        comments = [dict(c) for c in self._comments_of(self._get_ticket(ticket_id))]
        return 200, {"comments": comments, "next_page": None, "previous_page": None, "count": len(comments)}

    def _h_tags(self, request: Request, ticket_id: int) -> tuple[int, JSON]:
        ticket = self._get_ticket(ticket_id)
        if request.method == "GET":
            return 200, {"tags": list(ticket["tags"])}
        body = json_body(request)
        tags = body.get("tags")
        if not isinstance(tags, list):
            raise invalid("the body needs a 'tags' array")
        change: JSON = {"safe_update": body.get("safe_update"), "updated_stamp": body.get("updated_stamp")}
        if request.method == "PUT":
            change["additional_tags"] = tags
        elif request.method == "POST":
            change["tags"] = tags
        else:
            change["remove_tags"] = tags
        self._apply_update(ticket, change, data.API_USER_ID, "api")
        self.hooks.fire_triggers(ticket, "Change")
        return 200, {"tags": list(ticket["tags"])}

    def _h_tickets_update_many(self, request: Request) -> tuple[int, JSON]:
        body = json_body(request)
        if isinstance(body.get("tickets"), list):
            items = body["tickets"]
        elif isinstance(body.get("ticket"), dict):
            items = [{**body["ticket"], "id": i} for i in _ids_param(request)]
        else:
            raise invalid("the body needs a 'tickets' array (or 'ticket' with ?ids=)")
        if len(items) > UPDATE_MANY_LIMIT:
            raise invalid(f"at most {UPDATE_MANY_LIMIT} tickets per request")
        results: list[JSON] = []
        for index, item in enumerate(items):
            ticket_id = item.get("id") if isinstance(item, dict) else None
            try:
                if ticket_id is None:
                    raise invalid("each ticket needs an id")
                ticket = self._get_ticket(int(ticket_id))
                self._apply_update(ticket, item, data.API_USER_ID, "api")
                self.hooks.fire_triggers(ticket, "Change")
                results.append(
                    {
                        "id": int(ticket_id),
                        "index": index,
                        "action": "update",
                        "success": True,
                        "status": "Updated",
                    }
                )
            except ApiError as exc:
                results.append(
                    {
                        "id": ticket_id,
                        "index": index,
                        "action": "update",
                        "success": False,
                        "status": "Failed",
                        "error": exc.body.get("error"),
                        "details": exc.body.get("description"),
                    }
                )
        job_id = hashlib.md5(f"{self.seed}-job-{next(self._ids)}".encode()).hexdigest()
        job: JSON = {
            "id": job_id,
            "url": self._url(f"/api/v2/job_statuses/{job_id}.json"),
            "job_type": "bulk_update",
            "total": len(items),
            "progress": len(items),
            "status": "completed",
            "message": f"Completed at {data.iso(self.clock())}",
            "results": results,
            "_polls_left": self.job_polls_before_complete,
            "_done_at": self.clock() + self.job_seconds,
        }
        self._jobs[job_id] = job
        queued = {k: v for k, v in job.items() if not k.startswith("_")}
        queued.update(status="queued", progress=None, message=None, results=None)
        return 200, {"job_status": queued}

    def _render_job(self, job: JSON) -> JSON:
        if job["_polls_left"] > 0 or self.clock() < job["_done_at"]:
            job["_polls_left"] = max(0, job["_polls_left"] - 1)
            shown = {k: v for k, v in job.items() if not k.startswith("_")}
            shown.update(status="working", progress=0, message=None, results=None)
            return shown
        return {k: v for k, v in job.items() if not k.startswith("_")}

    def _h_job_status(self, request: Request, job_id: str) -> tuple[int, JSON]:
        job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})
        return 200, {"job_status": self._render_job(job)}

    def _h_job_statuses_show_many(self, request: Request) -> tuple[int, JSON]:
        """``GET /api/v2/job_statuses/show_many.json?ids=a,b,c``: ``{"job_statuses": [...]}`` in the order asked,
        each as the single-job endpoint shows it; ids the account does not know are left out."""
        ids = list(dict.fromkeys(part.strip() for part in request.args.get("ids", "").split(",") if part.strip()))
        if not ids:
            raise invalid("ids is required: a comma-separated list of job status ids")
        if len(ids) > SHOW_MANY_LIMIT:
            raise invalid(f"at most {SHOW_MANY_LIMIT} ids per request")
        return 200, {"job_statuses": [self._render_job(self._jobs[i]) for i in ids if i in self._jobs]}

    # ------------------------------------------------------------------------ users, organizations

    def _h_user(self, request: Request, user_id: int) -> tuple[int, JSON]:
        user = self._users.get(user_id)
        if user is None:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})
        return 200, {"user": self._render_user(user)}

    def _h_users_show_many(self, request: Request) -> tuple[int, JSON]:
        users = [self._render_user(self._users[i]) for i in _ids_param(request) if i in self._users]
        return 200, {"users": users}

    def _h_organization(self, request: Request, organization_id: int) -> tuple[int, JSON]:
        organization = self._organizations.get(organization_id)
        if organization is None:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})
        return 200, {"organization": self._render_organization(organization)}

    def _h_organizations_show_many(self, request: Request) -> tuple[int, JSON]:
        organizations = [
            self._render_organization(self._organizations[i]) for i in _ids_param(request) if i in self._organizations
        ]
        return 200, {"organizations": organizations}

    # ------------------------------------------------------------------------------ ticket fields

    def _render_field(self, field: JSON) -> JSON:
        return {**field, "url": self._url(f"/api/v2/ticket_fields/{field['id']}.json")}

    def _h_ticket_fields(self, request: Request) -> tuple[int, JSON]:
        if request.method == "POST":
            return self._create_ticket_field(json_body(request).get("ticket_field"))
        fields = sorted(self._fields.values(), key=lambda f: (f["position"], f["id"]))
        if request.args.get("page[size]"):
            try:
                size = min(100, max(1, int(request.args["page[size]"])))
            except ValueError as exc:
                raise invalid("page[size] must be an integer") from exc
            after = request.args.get("page[after]")
            start = int(base64.urlsafe_b64decode(after.encode() + b"==").decode()) if after else 0
            chunk = fields[start : start + size]
            has_more = start + size < len(fields)
            after_cursor = base64.urlsafe_b64encode(str(start + size).encode()).decode().rstrip("=")
            next_link = self._url(f"/api/v2/ticket_fields.json?page[size]={size}&page[after]={after_cursor}")
            return 200, {
                "ticket_fields": [self._render_field(f) for f in chunk],
                "meta": {
                    "has_more": has_more,
                    "after_cursor": after_cursor if has_more else None,
                    "before_cursor": None,
                },
                "links": {"next": next_link if has_more else None, "prev": None},
            }
        return 200, {
            "ticket_fields": [self._render_field(f) for f in fields],
            "next_page": None,
            "previous_page": None,
            "count": len(fields),
        }

    def _create_ticket_field(self, spec: Any) -> tuple[int, JSON]:
        if not isinstance(spec, dict):
            raise invalid("the body needs a 'ticket_field' object")
        kind, title = spec.get("type"), spec.get("title")
        if kind not in FIELD_TYPES:
            raise record_invalid(f"Type: {kind!r} is not a supported field type")
        if not title:
            raise record_invalid("Title: can't be blank")
        options = spec.get("custom_field_options") or []
        if kind in ("tagger", "multiselect"):
            if not options or not all(isinstance(o, dict) and o.get("name") and o.get("value") for o in options):
                raise record_invalid("Field options: each option needs a name and a value")
            existing = {o["value"] for f in self._fields.values() for o in f.get("custom_field_options", [])}
            clashes = [o["value"] for o in options if o["value"] in existing]
            if clashes:
                raise record_invalid(f"Field options: tag(s) {clashes} already used by another field")
        field_id = max(self._fields) + 1
        field = self._field_json(field_id, kind, str(title), options, 200 + len(self._fields), data.iso(self.clock()))
        self._fields[field_id] = field
        return 201, {"ticket_field": self._render_field(field)}

    def _h_ticket_field(self, request: Request, field_id: int) -> tuple[int, JSON]:
        field = self._fields.get(field_id)
        if field is None:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})
        return 200, {"ticket_field": self._render_field(field)}


def _epoch(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def main(argv: list[str] | None = None) -> None:
    """``python -m adapters.zendesk.sandbox --port P --tickets N``: serve until interrupted."""
    parser = argparse.ArgumentParser(description="Serve a Zendesk sandbox on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--export-lag", type=float, default=60.0)
    parser.add_argument("--all-flagged", action="store_true", help="flag every ticket license_exception")
    parser.add_argument("--job-seconds", type=float, default=DEFAULT_JOB_SECONDS,
                        help="how long an update_many job runs before its status is completed")
    args = parser.parse_args(argv)
    sandbox = ZendeskSandbox(tickets=args.tickets, seed=args.seed, export_lag=args.export_lag,
                             flagged_share=1.0 if args.all_flagged else 0.85, job_polls_before_complete=0,
                             job_seconds=args.job_seconds)
    base_url = sandbox.serve(args.host, args.port)
    print(
        json.dumps(
            {
                "base_url": base_url,
                "client_id": sandbox.client_id,
                "client_secret": sandbox.client_secret,
                "api_tokens": sandbox.api_tokens,
                "field_ids": sandbox.field_ids,
            },
            indent=2,
        ),
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.shutdown()


if __name__ == "__main__":
    main()
