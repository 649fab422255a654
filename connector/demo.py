"""``lec demo``: the whole story on this machine, against loopback sandboxes.

A Salesforce org (bare: no object until the connector deploys its package) and a Zendesk account (the adapters'
sandboxes, speaking the real wire formats) and a billing receiver start on free loopback ports; the connector —
served by a real WSGI server — is connected to both through their OAuth redirects, provisions both, syncs fifteen
requests, runs the committee, decides, writes back and bills, then prints what every system now shows, the
accounts to sign in with (one per committee role) and what to try next. Its database and keys live in one folder
(``CONNECTOR_DEMO_DIR``, default ``./lec-demo``) that ``lec --demo`` opens; a lock keeps a second demo out.
"""

from __future__ import annotations

import base64
import fcntl
import logging
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import requests
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade

from adapters.billing import BillingReceiver
from adapters.loopback import LoopbackServer
from adapters.salesforce.sandbox import SalesforceSandbox
from adapters.salesforce.sandbox_records import make_id
from adapters.zendesk.sandbox import ZendeskSandbox
from connector import audit
from connector import terminal_text as out
from connector.auth import create_token
from connector.config import DEMO_SETTINGS_FILE, reconfigure, write_demo_settings
from connector.db import unit_of_work
from connector.policy_store import ensure_default_policy
from connector.web.accounts import create_account
from connector.worker import run_worker

COMMITTEE = ("licensing", "legal", "product", "sales", "security")
#: in the demo's folder: its SQLite database, and the lock a running demo holds
DATABASE_FILE = "demo.db"
LOCK_FILE = "demo.lock"


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
        *committee_requests(today),
    ]


def committee_requests(today: date) -> list[dict[str, Any]]:
    """Requests left in review for the committee to try: medium (licensing and sales vote), high (four roles)
    and critical (all five) risk."""
    start, year = today + timedelta(days=14), today + timedelta(days=379)
    base = {"CurrencyIsoCode": "USD", "Requester_Team__c": "Public Sector", "Customer_Segment__c": "Enterprise",
            "Requested_Start__c": start.isoformat(), "Requested_End__c": year.isoformat()}
    return [
        {**base, "Name": "15% off a three-year renewal", "Category__c": "Pricing Deviation",
         "Account__c": _account(8), "Requester__c": _user(8), "Requested_Price__c": 85000,
         "Use_Case__c": "Renewal against a cheaper competitor.", "Justification__c": "Three years committed.",
         "Revenue_Impact__c": 40000, "Data_Sensitivity__c": "Confidential", "User_Base__c": 300},
        {**base, "Name": "Embed the engine in a partner's analytics suite", "Category__c": "Usage Rights",
         "Account__c": _account(9), "Requester__c": _user(9), "Requested_Usage_Rights__c": "Embedding",
         "Use_Case__c": "The partner ships our engine inside its product.", "Revenue_Impact__c": 250000,
         "Justification__c": "A new channel worth 250k a year.", "Data_Sensitivity__c": "Confidential",
         "User_Base__c": 20000, "Deployment_Scale__c": 200},
        {**base, "Name": "Redistribution by a public-sector integrator", "Category__c": "Usage Rights",
         "Account__c": _account(10), "Requester__c": _user(10), "Baseline_Regions__c": "NA",
         "Requested_Usage_Rights__c": "Redistribution", "Requested_Regions__c": "EMEA;APAC",
         "Use_Case__c": "Citizen services in twelve agencies.", "Justification__c": "A 1.5M framework contract.",
         "Revenue_Impact__c": 1500000, "Data_Sensitivity__c": "Regulated", "User_Base__c": 150000,
         "Deployment_Scale__c": 5000},
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
    accounts: list[tuple[str, str, str]] = field(default_factory=list)  # email, role, committee role

    def say(self, text: str = "") -> None:
        self.lines.append(text)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.lines.extend(out.table(headers, rows))


WorkerRunner = Callable[[Any, dict[str, str]], dict[str, int]]
#: builds the connector's app from settings (``connector.create_app``)
AppFactory = Callable[[dict[str, str]], Flask]


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


class DemoInUse(OSError):
    """Another demo holds the folder's lock (an ``OSError``: the CLI reports it as one ``error:`` line, exit 1)."""


def lock_folder(directory: Path) -> IO[str]:
    """Take the folder's lock for as long as the returned file stays open; refuse when a demo holds it, so a
    second demo never deletes the database a serving one is using."""
    handle = (directory / LOCK_FILE).open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip()
        handle.close()
        raise DemoInUse(f"a demo is already running in {directory}{f' (process {owner})' if owner else ''}; "
                        "stop it (Ctrl+C in its terminal), or run this one in another folder with "
                        "CONNECTOR_DEMO_DIR=<folder>") from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


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
            self("POST", f"/requests/{item['id']}/votes", token=role,
                 json={"role": role, "vote": choice, "rationale": f"{role} review done"})


class Demo:
    """The story; ``database_url`` and ``worker`` let the end-to-end tests run it on PostgreSQL with the worker
    as a separate process (the demo itself uses a fresh SQLite file in its folder and runs the worker
    in-process)."""

    def __init__(self, instance_dir: Path, factory: AppFactory, echo: Callable[[str], None] = print,
                 database_url: str | None = None, worker: WorkerRunner = in_process_worker) -> None:
        self.instance_dir = instance_dir
        self.factory = factory
        self.echo = echo
        self.database_url = database_url
        self.worker = worker
        self.env: dict[str, str] = {}
        self.keep_serving = False

    def run(self, keep_serving: bool = False) -> Story:
        """Run the story (refused, with ``DemoInUse``, while another demo holds the folder) and print it."""
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        lock = lock_folder(self.instance_dir)
        self.keep_serving = keep_serving
        try:
            story = Story()
            systems, app = self._start()
            try:
                self._story(app, story, systems, date.today())
            finally:
                if not keep_serving:
                    systems.shutdown()
            for line in story.lines:
                self.echo(line)
            if keep_serving:
                self._keep_serving(app, story, systems)
            return story
        finally:
            lock.close()

    def _start(self) -> tuple[Systems, Any]:
        """Start the sandboxes (Salesforce bare: the package is deployed by provisioning), the billing receiver
        and the connector (served by a WSGI server) on loopback; keep the settings in the demo's folder."""
        salesforce = SalesforceSandbox(records=0, seed=7, bare=True)
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
        write_demo_settings(self.instance_dir, self.env)
        app = self.factory(self.env)
        app.instance_path = str(self.instance_dir)
        app_box["app"] = app
        return Systems(salesforce, zendesk, receiver, billing, served), app

    def _database_url(self) -> str:
        """The database given, or a fresh SQLite file in the demo's folder."""
        if self.database_url is not None:
            return self.database_url
        database = self.instance_dir / DATABASE_FILE
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{database}"

    def _keep_serving(self, app: Any, story: Story, systems: Systems) -> None:
        """Serve until Ctrl+C, with a worker alongside, after saying where and how to sign in."""
        base = systems.served.base_url
        self.echo("")
        self.echo(f"The connector is serving at {base} (API docs: {base}/api/v1/docs); API tokens: admin "
                  f"{story.tokens['admin']}  chair {story.tokens['licensing']}")
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
        story.accounts = ACCOUNTS
        api = DemoApi(systems.served.base_url, story.tokens)
        story.say("== License Exception Connector demo")
        story.say(f"Its folder: {self.instance_dir} (database {DATABASE_FILE}, keys and settings in "
                  f"{DEMO_SETTINGS_FILE}; `lec --demo …` works on it)")
        story.say("")
        _connect(api, story, systems)
        _file_requests(api, story, systems, today)
        items = api("GET", "/requests?limit=100")["items"]
        _decide(api, items, today)
        totals = self.worker(app, self.env)
        story.say(f"Worker: {', '.join(f'{k} {v}' for k, v in sorted(totals.items()) if v) or 'nothing to do'}")
        story.say("")
        _tell_requests(story, api("GET", "/requests?limit=100")["items"])
        _tell_salesforce(story, systems.salesforce)
        _tell_zendesk(story, systems.zendesk)
        _tell_billing(story, systems.receiver)
        with app.app_context():
            result = audit.verify()
        story.audit_ok = result.ok
        story.say(f"Audit log: {result.checked} events, chain {'verified' if result.ok else 'BROKEN'}; "
                  f"head {result.head_hash[:16]}…")
        story.say("")
        _tell_accounts(story)
        _tell_next(story, systems, serving=self.keep_serving)


#: the demo's sign-in accounts: (email, role, committee role); all share the password it prints
ACCOUNTS = [*((f"{role}@demo.example", "reviewer", role) for role in COMMITTEE),
            ("admin@demo.example", "admin", "")]
NAMES = {"licensing": "Lena Licensing (chair)", "legal": "Leo Legal", "product": "Priya Product",
         "sales": "Sam Sales", "security": "Sol Security"}


def _set_up(app: Any) -> dict[str, str]:
    """Migrate the database (without Alembic's log lines), load the default policy, and make the demo's
    principals: API tokens for an admin, an intake system and each committee role, and a sign-in account for
    each committee role and the admin, sharing one password (``tokens["password"]``)."""
    with app.app_context(), unit_of_work():
        logging.disable(logging.INFO)
        try:
            upgrade(directory=app.extensions["license_exception_connector"]["migrations"])
        finally:
            logging.disable(logging.NOTSET)
        ensure_default_policy("demo")
        tokens = {"admin": create_token("demo-admin", "admin", actor="demo"),
                  "intake": create_token("demo-intake", "intake", actor="demo")}
        for role in COMMITTEE:
            tokens[role] = create_token(NAMES[role], "reviewer", [role], actor="demo")
        tokens["password"] = secrets.token_urlsafe(12)
        for email, role, committee_role in ACCOUNTS:
            create_account(email, role, [committee_role] if committee_role else [], password=tokens["password"],
                           name=NAMES.get(committee_role, "demo-admin"), actor="demo")
    return tokens


def _connect(api: DemoApi, story: Story, systems: Systems) -> None:
    """Connect both sources (their OAuth redirects), then provision both through the connector's own
    provisioning: Salesforce gets the package deployed (object, page, status component, push), Zendesk its
    ticket fields, webhook and trigger."""
    salesforce, zendesk = systems.salesforce, systems.zendesk
    api("POST", "/connections", json={"name": "salesforce-demo", "kind": "salesforce", "settings": {
        "login_url": salesforce.base_url, "client_id": salesforce.client_id,
        "client_secret": salesforce.client_secret, "auth": "web_server"}})
    api("POST", "/connections", json={"name": "zendesk-demo", "kind": "zendesk", "settings": {
        "subdomain": "demo", "base_url": zendesk.base_url, "client_id": zendesk.client_id,
        "client_secret": zendesk.client_secret, "auth": "oauth"}})
    for name in ("salesforce-demo", "zendesk-demo"):
        api.authorize(name)
    story.say("Connected both sandboxes through their OAuth redirects, then provisioned them:")
    sf = api("POST", "/connections/salesforce-demo/provision")
    zd = api("POST", "/connections/zendesk-demo/provision")
    deployment = sf.get("deployment") or {}
    story.table(("source", "provisioning made"), [
        ("Salesforce", f"the package: {deployment.get('components', '?')} components deployed (object, record "
                       "page, status component, permission sets, the flow that pushes new records)"),
        ("Zendesk", _zendesk_provisioned(zd)),
    ])
    story.say("")


def _zendesk_provisioned(result: dict[str, Any]) -> str:
    """What Zendesk provisioning reported, in words (the app too, once provisioning installs one)."""
    made = [out.count(len(result.get("fields") or ()), "ticket field", "ticket fields")]
    made += ["the webhook"] if result.get("webhook") else []
    made += [out.count(len(result.get("triggers") or ()), "trigger", "triggers")] if result.get("triggers") else []
    if result.get("app"):
        made.append("the ticket-sidebar app")
    return ", ".join(made)


def _file_requests(api: DemoApi, story: Story, systems: Systems, today: date) -> None:
    """Reps file requests on the deployed object, agents flag tickets; both connections sync."""
    for fields_ in salesforce_requests(today):
        systems.salesforce.add_record(**fields_)
    for ticket in zendesk_requests(today):
        systems.zendesk.create_ticket(ticket["subject"], ticket["description"], custom_fields=ticket["custom_fields"])
    systems.zendesk.create_ticket("Password reset", "Not a license question.", tags=["password"])
    rows = []
    for name in ("salesforce-demo", "zendesk-demo"):
        counts = api("POST", f"/connections/{name}/sync")
        rows.append((name, counts["fetched"], counts["created"], counts["needs_info"], counts.get("stopped") or ""))
    story.say("Synced the requests reps and agents filed:")
    story.table(("connection", "fetched", "created", "needs info", "stopped"), rows)
    story.say("")


def _decide(api: DemoApi, items: list[dict[str, Any]], today: date) -> None:
    """The committee at work: a fast-track approval, a voted approval with conditions, a denial, and a Zendesk
    request approved on the fast track. The medium, high and critical requests stay in review for you."""
    by_title = {item["title"]: item for item in items}
    fast = by_title["Five more seats for the Q4 pilot"]
    api("POST", f"/requests/{fast['id']}/decision", token="licensing", json={
        "outcome": "approved", "rationale": "A short pilot that leads to an upsell.",
        "entitlement": {"grants": {"seats": 105}, "effective_from": today.isoformat(),
                        "expires_at": (today + timedelta(days=45)).isoformat(),
                        "renewal": {"mode": "manual", "notice_days": 14},
                        "success_metrics": ["pilot converts to 20 paid seats"]}})
    oem = by_title["OEM redistribution in EMEA, APAC and LATAM"]
    api.vote_all(oem)
    api("POST", f"/requests/{oem['id']}/decision", token="licensing", json={
        "outcome": "approved_with_conditions", "rationale": "Strategic platform deal, bounded to two regions.",
        "entitlement": {"grants": {"usage_rights": ["redistribution", "oem"], "regions": ["EMEA", "APAC"]},
                        "effective_from": today.isoformat(),
                        "expires_at": (today + timedelta(days=365)).isoformat(),
                        "conditions": ["quarterly usage report", "no sublicensing"],
                        "renewal": {"mode": "manual", "notice_days": 60}}})
    discount = by_title["30% discount to match a competitor"]
    for role in ("licensing", "sales"):
        api("POST", f"/requests/{discount['id']}/votes", token=role,
            json={"role": role, "vote": "reject", "rationale": "Below our floor price."})
    api("POST", f"/requests/{discount['id']}/decision", token="licensing", json={
        "outcome": "denied", "rationale": "Below the floor price; offer a multi-year term instead."})
    zd_beta = next((i for i in items if i["source"] == "zendesk" and i["state"] == "in_review"
                    and i["track"] == "fast"), None)
    if zd_beta is not None:
        api("POST", f"/requests/{zd_beta['id']}/decision", token="licensing", json={
            "outcome": "approved", "rationale": "Temporary cover seats; they end with the rotation.",
            "entitlement": {"grants": {"seats": zd_beta["requested_terms"].get("seats") or 1},
                            "effective_from": today.isoformat(),
                            "expires_at": (today + timedelta(days=60)).isoformat()}})


def _tell_requests(story: Story, items: list[dict[str, Any]]) -> None:
    """One row per request, then what the requests that need information lack."""
    story.say("Requests in the connector:")
    rows, notes = [], []
    for item in sorted(items, key=lambda i: (len(i["key"]), i["key"])):
        story.requests.append(item)
        rows.append((item["key"], item["source"], item["track"], (item["risk"] or {}).get("band"),
                     out.label(item["state"]), out.revenue(item), item["title"] or "(no title)"))
        if item["state"] == "needs_info":
            missing = ", ".join(item["intake"]["missing"])
            notes += [f"  {item['key']} missing: {missing}"] if missing else []
            notes += [f"  {item['key']} conflict: {c['message']}" for c in item["intake"]["conflicts"]]
    story.table(("key", "source", "track", "band", "state", "revenue", "title"), rows)
    if notes:
        story.say("What the requests that need information lack (written back to the record or ticket):")
        story.lines.extend(notes)
    story.say("")


def _tell_salesforce(story: Story, salesforce: SalesforceSandbox) -> None:
    story.say("Salesforce records now show (written back by the connector):")
    rows = []
    for record_id in salesforce.record_ids():
        record = salesforce.get_record(record_id)
        assert record is not None  # listed by record_ids just now
        rows.append((record["Name"][:50], record.get("Governance_Key__c"), out.label(record.get(
            "Governance_Status__c")), out.label(record.get("Decision__c")), record.get("Entitlement_Expires__c")))
    story.table(("record", "key", "status", "decision", "expires"), rows)
    story.say("")


def _tell_zendesk(story: Story, zendesk: ZendeskSandbox) -> None:
    story.say("Zendesk tickets now show (written back by the connector):")
    rows = []
    for ticket_id in zendesk.ticket_ids():
        ticket = zendesk.ticket(ticket_id)
        if "license_exception" not in ticket.get("tags", []):
            continue
        comments = zendesk.ticket_comments(ticket_id)
        public = sum(1 for c in comments if c.get("public")) - 1  # the first comment is the ticket's description
        private = sum(1 for c in comments if not c.get("public"))
        tags = ", ".join(t for t in ticket["tags"] if t.startswith("license_exception_"))
        rows.append((f"#{ticket_id}", ticket["subject"][:40], tags,
                     f"{out.count(public, 'public reply', 'public replies')}, "
                     f"{out.count(private, 'internal note', 'internal notes')}"))
    story.table(("ticket", "subject", "tags", "comments"), rows)
    story.say("")


def _tell_billing(story: Story, receiver: BillingReceiver) -> None:
    story.billing = [entry["payload"] for entry in receiver.received]
    story.say(f"Billing received {out.count(len(receiver.by_id), 'signed message', 'signed messages')}, all "
              f"signatures verified ({receiver.refused} refused):")
    story.table(("key", "version", "status", "grants", "until"),
                [(p["key"], p["version"], p["status"], out.grants(p["grants"] or {}), p["expires_at"])
                 for p in story.billing])
    story.say("")


def _tell_accounts(story: Story) -> None:
    story.say(f"Sign-in accounts (password for all: {story.tokens['password']}):")
    story.table(("email", "role", "committee role"),
                [(email, role, f"{committee} (the chair)" if committee == "licensing" else committee)
                 for email, role, committee in story.accounts])
    story.say("")


def _tell_next(story: Story, systems: Systems, serving: bool) -> None:
    """What to try next: the requests left in review by band, where the sandboxes show them, the CLI."""
    waiting = {(r["risk"] or {}).get("band"): r for r in reversed(story.requests)
               if r["state"] == "in_review" and r["source"] == "salesforce"}
    bands = ", ".join(f"{r['key']} ({band})" for band in ("low", "medium", "high", "critical")
                      if (r := waiting.get(band)))
    critical, ticket = waiting.get("critical"), next((r for r in story.requests if r["source"] == "zendesk"), None)
    base = systems.served.base_url
    steps = [
        f"Sign in at {base}/sign-in as licensing@demo.example (the chair) and open the requests in review: "
        f"{bands}." if serving else "Run `lec demo` (without --once): it keeps serving, with a worker alongside, "
        "and prints the address to sign in at as licensing@demo.example (the chair); the requests in review are "
        f"{bands}.",
        f"Vote on {critical['key'] if critical else 'the critical request'} as each committee role (sign in as "
        "legal@, product@, sales@ and security@demo.example), then decide it as the chair: the decision is "
        "written back to Salesforce and billed.",
        "Follow a request's \"Open in Salesforce\" or \"Open in Zendesk\" link: the sandbox shows the record or "
        "ticket with what the connector wrote" + (f", e.g. {critical['external_url']} and "
                                                 f"{ticket['external_url']}." if serving and critical and ticket
                                                 else "."),
        "As admin@demo.example, press Sync now on Connections: the worker runs the sync and the page follows it "
        "with a progress bar, the source's total and the time left.",
        "Use the CLI on the demo's data from this folder: `lec --demo requests list --state in_review --sort "
        "risk`, `lec --demo audit verify`, `lec --demo tokens list` (from elsewhere: set CONNECTOR_DEMO_DIR to the "
        "folder above).",
    ]
    story.say("What to try next:")
    story.lines.extend(f"  {n}. {text}" for n, text in enumerate(steps, start=1))


def run_demo(directory: Path, once: bool, echo: Callable[[str], None], factory: AppFactory) -> Story:
    """The ``demo`` command: the story in ``directory`` (the demo's folder), on an app ``factory`` makes (the
    package's ``create_app``, handed over by the running app: importing it here would close a cycle through the
    CLI that ``create_app`` registers)."""
    return Demo(directory, factory, echo).run(keep_serving=not once)
