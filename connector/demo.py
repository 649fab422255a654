"""``flask --app wsgi connector demo``: the whole story on this machine, against loopback sandboxes.

A Salesforce org and a Zendesk account (the adapters' sandboxes, speaking the real wire formats) and a billing
receiver start on free loopback ports; the connector — served by a real WSGI server — is connected to both through
their OAuth redirects, syncs a dozen requests, runs the committee, decides, writes back and bills, then prints
what every system now shows.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
from cryptography.fernet import Fernet
from flask_migrate import upgrade

from adapters.billing import BillingReceiver
from adapters.loopback import LoopbackServer
from adapters.salesforce.sandbox import SalesforceSandbox
from adapters.salesforce.sandbox_records import make_id
from adapters.zendesk.sandbox import ZendeskSandbox
from connector import audit, create_app
from connector.auth import create_token
from connector.config import reconfigure
from connector.db import unit_of_work
from connector.policy_store import ensure_default_policy
from connector.web.accounts import create_account
from connector.worker import run_worker

COMMITTEE = ("licensing", "legal", "product", "sales", "security")


def _account(number: int) -> str:
    return make_id("001", number)


def _user(number: int) -> str:
    return make_id("005", number)


def salesforce_requests(today: date) -> list[dict[str, Any]]:
    """Requests as reps file them on License_Exception_Request__c."""
    start, month, year = today + timedelta(days=7), today + timedelta(days=37), today + timedelta(days=372)
    base = {"CurrencyIsoCode": "USD", "Requester_Team__c": "EMEA Sales", "Customer_Segment__c": "Mid-Market"}
    return [
        {**base, "Name": "Five more seats for the Q4 pilot", "Category__c": "Seat Expansion",
         "Account__c": _account(1), "Requester__c": _user(1), "Baseline_Seats__c": 100, "Requested_Seats__c": 105,
         "Use_Case__c": "A pilot team for a data migration.", "Revenue_Impact__c": 500,
         "Data_Sensitivity__c": "Internal", "User_Base__c": 5, "Requested_Start__c": start.isoformat(),
         "Requested_End__c": month.isoformat()},
        {**base, "Name": "OEM redistribution in EMEA, APAC and LATAM", "Category__c": "Usage Rights",
         "Account__c": _account(2), "Requester__c": _user(2), "Customer_Segment__c": "Enterprise",
         "Baseline_Regions__c": "NA", "Requested_Usage_Rights__c": "Redistribution;OEM",
         "Requested_Regions__c": "EMEA;APAC;LATAM", "Use_Case__c": "Embed the engine in devices sold worldwide.",
         "Justification__c": "A 4.8M platform deal.", "Revenue_Impact__c": 4800000,
         "Data_Sensitivity__c": "Regulated", "User_Base__c": 250000, "Deployment_Scale__c": 5000,
         "Requested_Start__c": start.isoformat(), "Requested_End__c": year.isoformat()},
        {**base, "Name": "30% discount to match a competitor", "Category__c": "Pricing Deviation",
         "Account__c": _account(3), "Requester__c": _user(3), "Requested_Price__c": 70000,
         "Use_Case__c": "Keep the account through a budget freeze.", "Revenue_Impact__c": 120000,
         "Data_Sensitivity__c": "Confidential", "User_Base__c": 800, "Requested_Start__c": start.isoformat(),
         "Requested_End__c": year.isoformat()},
        {**base, "Name": "Six more months on the current term", "Category__c": "Term Extension",
         "Account__c": _account(4), "Requester__c": _user(4), "Baseline_Term_End__c": month.isoformat(),
         "Requested_Term_End__c": (month + timedelta(days=90)).isoformat(),
         "Use_Case__c": "Procurement needs another quarter.", "Revenue_Impact__c": 8000,
         "Data_Sensitivity__c": "Internal", "User_Base__c": 60, "Requested_Start__c": start.isoformat(),
         "Requested_End__c": (start + timedelta(days=90)).isoformat()},
        {**base, "Name": "Staging environment for the QA team", "Category__c": "Deployment Scope",
         "Account__c": _account(5), "Requester__c": _user(5), "Baseline_Environments__c": "Production",
         "Requested_Environments__c": "Staging", "Use_Case__c": "Load tests before the go-live.",
         "Revenue_Impact__c": 0, "Data_Sensitivity__c": "Public", "User_Base__c": 12,
         "Requested_Start__c": start.isoformat(), "Requested_End__c": month.isoformat()},
        {**base, "Name": "Seats for the new subsidiary", "Category__c": "Seat Expansion", "Account__c": None,
         "Requester__c": _user(6), "Requested_Seats__c": 40, "Revenue_Impact__c": 15000,
         "Data_Sensitivity__c": "Internal", "User_Base__c": 40},
        {**base, "Name": "Fewer seats but called an expansion", "Category__c": "Seat Expansion",
         "Account__c": _account(7), "Requester__c": _user(7), "Baseline_Seats__c": 100, "Requested_Seats__c": 80,
         "Use_Case__c": "Downsizing after a reorganisation.", "Revenue_Impact__c": 0,
         "Data_Sensitivity__c": "Internal", "User_Base__c": 80, "Requested_Start__c": start.isoformat(),
         "Requested_End__c": month.isoformat()},
    ]


def zendesk_requests(today: date) -> list[dict[str, Any]]:
    """Tickets agents flag with the license_exception tag (custom fields by name)."""
    start, month = today + timedelta(days=3), today + timedelta(days=60)
    fortnight, ten_months, a_year = start + timedelta(days=14), today + timedelta(days=300), today + timedelta(days=365)
    return [
        {"subject": "Ten more seats for the support rotation", "description": "Holiday cover for two months.",
         "custom_fields": {"category": "lec_category_seat_expansion", "requested_seats": "35",
                           "baseline_seats": "25", "revenue_impact": "2000", "currency": "USD",
                           "data_sensitivity": "lec_sensitivity_internal", "user_base": "25",
                           "requested_start": start.isoformat(), "requested_end": month.isoformat()}},
        {"subject": "Use in APAC for the Singapore office", "description": "New office needs the license in APAC.",
         "custom_fields": {"category": "lec_category_geographic_scope", "revenue_impact": "45000",
                           "currency": "USD", "data_sensitivity": "lec_sensitivity_confidential",
                           "requested_regions": ["lec_region_apac"], "user_base": "300",
                           "requested_start": start.isoformat(), "requested_end": ten_months.isoformat()}},
        {"subject": "More seats, details to follow", "description": "",
         "custom_fields": {"category": "lec_category_seat_expansion"}},
        {"subject": "Extra seats during the migration weekend", "description": "Temporary seats for contractors.",
         "custom_fields": {"category": "lec_category_seat_expansion", "requested_seats": "60",
                           "baseline_seats": "50", "revenue_impact": "900", "currency": "USD",
                           "data_sensitivity": "lec_sensitivity_internal", "user_base": "10",
                           "requested_start": start.isoformat(), "requested_end": fortnight.isoformat()}},
        {"subject": "Redistribution to resellers", "description": "A reseller wants to bundle us.",
         "custom_fields": {"category": "lec_category_usage_rights", "revenue_impact": "250000", "currency": "EUR",
                           "data_sensitivity": "lec_sensitivity_regulated", "user_base": "20000",
                           "requested_start": start.isoformat(), "requested_end": a_year.isoformat()}},
    ]


@dataclass
class Served:
    base_url: str
    shutdown: Callable[[], None]


def serve_wsgi(app: Any) -> Served:
    server = LoopbackServer(app, "demo")
    return Served(server.start(), server.stop)


@dataclass
class Story:
    """What happened, for the printed account and for tests."""

    lines: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    billing: list[dict[str, Any]] = field(default_factory=list)
    audit_ok: bool = False
    tokens: dict[str, str] = field(default_factory=dict)

    def say(self, text: str = "") -> None:
        self.lines.append(text)


WorkerRunner = Callable[[Any, dict[str, str]], dict[str, int]]


def in_process_worker(app: Any, _env: dict[str, str]) -> dict[str, int]:
    return run_worker(app, once=True)


@dataclass
class Systems:
    """What the demo runs on loopback: the two sources, the billing receiver and the connector itself."""

    salesforce: SalesforceSandbox
    zendesk: ZendeskSandbox
    receiver: BillingReceiver
    billing: Served
    served: Served

    def shutdown(self) -> None:
        self.served.shutdown()
        self.billing.shutdown()
        self.salesforce.shutdown()
        self.zendesk.shutdown()


class DemoApi:
    """The demo's client of the connector's API: one HTTP session, a token per role, a refusal raised with the
    answer."""

    def __init__(self, base: str, tokens: dict[str, str]) -> None:
        self.base, self.tokens, self.http = base, tokens, requests.Session()

    def __call__(self, method: str, path: str, token: str = "admin", **kwargs: Any) -> Any:
        r = self.http.request(method, self.base + "/api/v1" + path,
                              headers={"Authorization": f"Bearer {self.tokens[token]}"}, timeout=60, **kwargs)
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path} answered {r.status_code}: {r.text[:400]}")
        return r.json() if r.content else None

    def authorize(self, name: str) -> str:
        """Follow the connection's authorize link through the provider's OAuth redirect; the callback's message."""
        r = self.http.get(f"{self.base}/api/v1/connections/{name}/authorize", allow_redirects=True, timeout=60,
                          headers={"Authorization": f"Bearer {self.tokens['admin']}"})
        if r.status_code != 200:
            raise RuntimeError(f"authorizing {name} failed: {r.status_code} {r.text[:300]}")
        return str(r.json()["message"])

    def vote_all(self, item: dict[str, Any], choice: str = "approve") -> None:
        for role in COMMITTEE:
            self("POST", f"/requests/{item['id']}/votes", token="chair" if role == "licensing" else role,
                 json={"role": role, "vote": choice, "rationale": f"{role} review done"})


class Demo:
    """The story; ``database_url`` and ``worker`` let the end-to-end tests run it on PostgreSQL with the worker
    as a separate process (the demo itself uses a fresh SQLite file and runs the worker in-process)."""

    def __init__(self, instance_dir: Path, echo: Callable[[str], None] = print, database_url: str | None = None,
                 worker: WorkerRunner = in_process_worker) -> None:
        self.instance_dir = instance_dir
        self.echo = echo
        self.database_url = database_url
        self.worker = worker
        self.env: dict[str, str] = {}

    def run(self, keep_serving: bool = False) -> Story:
        story = Story()
        today = date.today()
        systems, app = self._start()
        try:
            self._story(app, story, systems, today)
        finally:
            if not keep_serving:
                systems.shutdown()
        for line in story.lines:
            self.echo(line)
        if keep_serving:
            self._keep_serving(app, story, systems)
        return story

    def _start(self) -> tuple[Systems, Any]:
        """Start the sandboxes, the billing receiver and the connector (served by a WSGI server) on loopback."""
        salesforce = SalesforceSandbox(records=0, seed=7)
        sf_url = salesforce.serve()
        zendesk = ZendeskSandbox(tickets=0, seed=7, export_lag=0, job_polls_before_complete=0, job_seconds=0.2)
        zd_url = zendesk.serve()
        billing_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()  # Standard Webhooks: base64
        receiver = BillingReceiver(billing_secret)
        billing = serve_wsgi(receiver)
        self.salesforce, self.zendesk, self.receiver = salesforce, zendesk, receiver
        database_url = self._database_url()
        app_box: dict[str, Any] = {}

        def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
            return app_box["app"](environ, start_response)

        served = serve_wsgi(dispatch)
        hosts = ",".join(urlparse(u).netloc for u in (sf_url, zd_url))
        self.env = {
            "CONNECTOR_DATABASE_URL": database_url,
            "CONNECTOR_BASE_URL": served.base_url,
            "CONNECTOR_ALLOWED_INSTANCE_HOSTS": hosts,
            "CONNECTOR_BILLING_WEBHOOK_URL": billing.base_url + "/billing/terms",
            "CONNECTOR_BILLING_WEBHOOK_SECRET": billing_secret,
            "CONNECTOR_SECRET_KEY": secrets.token_hex(16),
            "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
        app = create_app(self.env)
        app.instance_path = str(self.instance_dir)
        app_box["app"] = app
        return Systems(salesforce, zendesk, receiver, billing, served), app

    def _database_url(self) -> str:
        """The database given, or a fresh SQLite file in the instance directory."""
        if self.database_url is not None:
            return self.database_url
        database = self.instance_dir / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{database}"

    def _keep_serving(self, app: Any, story: Story, systems: Systems) -> None:
        """Serve until Ctrl+C, with a worker alongside, after saying where and how to sign in."""
        base = systems.served.base_url
        self.echo("")
        self.echo(f"The connector is serving at {base} (API docs: {base}/api/v1/docs).")
        self.echo(f"Sign in at {base}/sign-in as chair@demo.example (the chair) or "
                  f"admin@demo.example, password {story.tokens['password']}")
        self.echo(f"API tokens: admin {story.tokens['admin']}  chair {story.tokens['chair']}")
        self.echo("A worker runs alongside: what you decide is written back to the sandboxes and billed within "
                  "seconds, pushes are processed and the sandboxes are synced every minute.")
        self.echo("Press Ctrl+C to stop.")
        stop = threading.Event()
        worker = threading.Thread(target=self._work, args=(app, stop), name="demo-worker", daemon=True)
        worker.start()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            worker.join(timeout=10)
            systems.shutdown()

    @staticmethod
    def _work(app: Any, stop: threading.Event) -> None:
        """The demo's worker while it keeps serving (the demo is the only process: SQLite, one worker)."""
        reconfigure(app, CONNECTOR_SYNC_INTERVAL_SECONDS=60)
        run_worker(app, stop=stop, poll=1.0, job_interval=15.0)

    def _story(self, app: Any, story: Story, systems: Systems, today: date) -> None:
        story.tokens = _set_up(app)
        api = DemoApi(systems.served.base_url, story.tokens)
        story.say("== License Exception Connector demo")
        _connect(api, story, systems.salesforce, systems.zendesk, today)
        items = api("GET", "/requests?limit=100")["items"]
        _decide(api, items, today)
        totals = self.worker(app, self.env)
        story.say(f"worker: {', '.join(f'{k} {v}' for k, v in sorted(totals.items()) if v)}")
        story.say("")
        _tell_requests(story, api("GET", "/requests?limit=100")["items"])
        story.say("")
        _tell_salesforce(story, systems.salesforce)
        _tell_zendesk(story, systems.zendesk)
        _tell_billing(story, systems.receiver)
        with app.app_context():
            result = audit.verify()
        story.audit_ok = result.ok
        story.say(f"Audit log: {result.checked} events, chain {'verified' if result.ok else 'BROKEN'}; "
                  f"head {result.head_hash[:16]}…")


def _set_up(app: Any) -> dict[str, str]:
    """Migrate the database, load the default policy, and make the demo's principals: API tokens for an admin,
    an intake system and the committee, and sign-in accounts for the chair and the admin (``password``)."""
    with app.app_context(), unit_of_work():
        upgrade(directory=app.extensions["license_exception_connector"]["migrations"])
        ensure_default_policy("demo")
        tokens = {"admin": create_token("demo-admin", "admin", actor="demo"),
                  "intake": create_token("demo-intake", "intake", actor="demo"),
                  "chair": create_token("Lena Licensing (chair)", "reviewer", ["licensing"], actor="demo")}
        for role in COMMITTEE[1:]:
            tokens[role] = create_token(f"{role.title()} reviewer", "reviewer", [role], actor="demo")
        tokens["password"] = secrets.token_urlsafe(12)
        create_account("chair@demo.example", "reviewer", ["licensing"], password=tokens["password"],
                       name="Lena Licensing (chair)", actor="demo")
        create_account("admin@demo.example", "admin", password=tokens["password"], name="demo-admin",
                       actor="demo")
    return tokens


def _connect(api: DemoApi, story: Story, salesforce: SalesforceSandbox, zendesk: ZendeskSandbox,
             today: date) -> None:
    """File the requests in both sources, connect the connector to them (OAuth), provision Zendesk, and sync."""
    for fields_ in salesforce_requests(today):
        salesforce.add_record(**fields_)
    api("POST", "/connections", json={"name": "salesforce-demo", "kind": "salesforce", "settings": {
        "login_url": salesforce.base_url, "client_id": salesforce.client_id,
        "client_secret": salesforce.client_secret, "auth": "web_server"}})
    api("POST", "/connections", json={"name": "zendesk-demo", "kind": "zendesk", "settings": {
        "subdomain": "demo", "base_url": zendesk.base_url, "client_id": zendesk.client_id,
        "client_secret": zendesk.client_secret, "auth": "oauth"}})
    for name in ("salesforce-demo", "zendesk-demo"):
        story.say(f"authorized {name} through the provider's OAuth redirect: {api.authorize(name)}")
    provisioned = api("POST", "/connections/zendesk-demo/provision")
    story.say(f"provisioned Zendesk: {len(provisioned.get('fields', provisioned))} ticket fields, webhook, "
              "trigger")
    for ticket in zendesk_requests(today):
        zendesk.create_ticket(ticket["subject"], ticket["description"], custom_fields=ticket["custom_fields"])
    zendesk.create_ticket("Password reset", "Not a license question.", tags=["password"])
    for name in ("salesforce-demo", "zendesk-demo"):
        counts = api("POST", f"/connections/{name}/sync")
        story.say(f"synced {name}: fetched {counts['fetched']}, created {counts['created']}, "
                  f"needs_info {counts['needs_info']}" + (f" (stopped: {counts['stopped']})"
                                                          if counts.get("stopped") else ""))


def _decide(api: DemoApi, items: list[dict[str, Any]], today: date) -> None:
    """The committee at work: a fast-track approval, a voted approval with conditions, a denial, and a Zendesk
    request approved on the fast track."""
    by_title = {item["title"]: item for item in items}
    fast = by_title["Five more seats for the Q4 pilot"]
    api("POST", f"/requests/{fast['id']}/decision", token="chair", json={
        "outcome": "approved", "rationale": "A short pilot that leads to an upsell.",
        "entitlement": {"grants": {"seats": 105}, "effective_from": today.isoformat(),
                        "expires_at": (today + timedelta(days=45)).isoformat(),
                        "renewal": {"mode": "manual", "notice_days": 14},
                        "success_metrics": ["pilot converts to 20 paid seats"]}})
    oem = by_title["OEM redistribution in EMEA, APAC and LATAM"]
    api.vote_all(oem)
    api("POST", f"/requests/{oem['id']}/decision", token="chair", json={
        "outcome": "approved_with_conditions", "rationale": "Strategic platform deal, bounded to two regions.",
        "entitlement": {"grants": {"usage_rights": ["redistribution", "oem"], "regions": ["EMEA", "APAC"]},
                        "effective_from": today.isoformat(),
                        "expires_at": (today + timedelta(days=365)).isoformat(),
                        "conditions": ["quarterly usage report", "no sublicensing"],
                        "renewal": {"mode": "manual", "notice_days": 60}}})
    discount = by_title["30% discount to match a competitor"]
    for role in ("licensing", "sales"):
        api("POST", f"/requests/{discount['id']}/votes", token="chair" if role == "licensing" else role,
            json={"role": role, "vote": "reject", "rationale": "Below our floor price."})
    api("POST", f"/requests/{discount['id']}/decision", token="chair", json={
        "outcome": "denied", "rationale": "Below the floor price; offer a multi-year term instead."})
    zd_beta = next((i for i in items if i["source"] == "zendesk" and i["state"] == "in_review"
                    and i["track"] == "fast"), None)
    if zd_beta is not None:
        api("POST", f"/requests/{zd_beta['id']}/decision", token="chair", json={
            "outcome": "approved", "rationale": "Temporary cover seats; they end with the rotation.",
            "entitlement": {"grants": {"seats": zd_beta["requested_terms"].get("seats") or 1},
                            "effective_from": today.isoformat(),
                            "expires_at": (today + timedelta(days=60)).isoformat()}})


def _tell_requests(story: Story, items: list[dict[str, Any]]) -> None:
    """One line per request, with what a request that needs information lacks."""
    story.say(f"{'key':<9} {'source':<10} {'track':<8} {'band':<8} {'state':<10} title")
    for item in sorted(items, key=lambda i: i["key"]):
        story.requests.append(item)
        band = (item["risk"] or {}).get("band") or "-"
        story.say(f"{item['key']:<9} {item['source']:<10} {item['track'] or '-':<8} {band:<8} "
                  f"{item['state']:<10} {item['title'] or '(no title)'}")
        if item["state"] == "needs_info":
            if item["intake"]["missing"]:
                story.say(f"{'':<9} missing: {', '.join(item['intake']['missing'])}")
            for conflict in item["intake"]["conflicts"]:
                story.say(f"{'':<9} conflict: {conflict['message']}")


def _tell_salesforce(story: Story, salesforce: SalesforceSandbox) -> None:
    story.say("Salesforce records now show:")
    for record_id in salesforce.record_ids():
        record = salesforce.get_record(record_id)
        assert record is not None  # listed by record_ids just now
        story.say(f"  {record['Name'][:45]:<45} {record.get('Governance_Key__c') or '-':<9} "
                  f"{record.get('Governance_Status__c') or '-':<10} {record.get('Decision__c') or '-':<25} "
                  f"expires {record.get('Entitlement_Expires__c') or '-'}")


def _tell_zendesk(story: Story, zendesk: ZendeskSandbox) -> None:
    story.say("Zendesk tickets now show:")
    for ticket_id in zendesk.ticket_ids():
        ticket = zendesk.ticket(ticket_id)
        if "license_exception" not in ticket.get("tags", []):
            continue
        comments = zendesk.ticket_comments(ticket_id)
        public = sum(1 for c in comments if c.get("public")) - 1
        private = sum(1 for c in comments if not c.get("public"))
        tags = ", ".join(t for t in ticket["tags"] if t.startswith("license_exception_"))
        story.say(f"  #{ticket_id} {ticket['subject'][:40]:<40} tags: {tags or '-'}; "
                  f"{public} public repl{'y' if public == 1 else 'ies'}, {private} internal note(s)")


def _tell_billing(story: Story, receiver: BillingReceiver) -> None:
    story.billing = [entry["payload"] for entry in receiver.received]
    story.say(f"Billing received {len(receiver.by_id)} signed message(s), all signatures verified "
              f"({receiver.refused} refused):")
    for payload in story.billing:
        story.say(f"  {payload['key']} v{payload['version']} {payload['status']}: {payload['grants']} "
                  f"until {payload['expires_at']}")


def run_demo(instance_path: str, once: bool, echo: Callable[[str], None]) -> Story:
    directory = Path(instance_path)
    directory.mkdir(parents=True, exist_ok=True)
    return Demo(directory, echo).run(keep_serving=not once)
