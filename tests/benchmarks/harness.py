"""Shared pieces of the end-to-end benchmarks: a sandbox in its own process, a fresh connector database,
an authorised connection, and an HTTP call counter. Not a test module: the benchmarks import it.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]


class HttpCounter:
    """Counts every HTTP call this process makes through ``requests`` (by path family)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._original = requests.Session.send

    def __enter__(self) -> HttpCounter:
        counter = self

        def send(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
            path = urlparse(request.url or "").path
            family = re.sub(r"/\d+|/[A-Za-z0-9]{15,18}(?=/|$)|/01g[\w-]+", "/…", path)
            with counter._lock:
                counter.calls[f"{request.method} {family}"] += 1
            return counter._original(session, request, **kwargs)

        requests.Session.send = send  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: Any) -> None:
        requests.Session.send = self._original  # type: ignore[method-assign]

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class SandboxProcess:
    """``python -m adapters.<kind>.sandbox`` on a free loopback port, in its own process (its memory and CPU
    are not the connector's)."""

    def __init__(self, kind: str, records: int, extra: list[str] | None = None) -> None:
        flag = "--records" if kind == "salesforce" else "--tickets"
        args = [sys.executable, "-m", f"adapters.{kind}.sandbox", "--port", "0", flag, str(records), *(extra or [])]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.kind = kind
        self.info: dict[str, Any] = {}
        assert self.proc.stdout is not None
        if kind == "salesforce":
            first = self.proc.stdout.readline()
            second = self.proc.stdout.readline()
            match = re.search(r"at (http://\S+)", first)
            if not match:
                raise RuntimeError(f"sandbox did not start: {first!r}")
            self.info["base_url"] = match.group(1)
            self.info.update(dict(pair.split("=", 1) for pair in second.split()))
        else:
            text = ""
            while True:
                line = self.proc.stdout.readline()
                if not line:
                    raise RuntimeError("sandbox did not start")
                text += line
                if line.startswith("}"):
                    break
            self.info = json.loads(text)

    def cpu_s(self) -> float | None:
        """The sandbox's user + system CPU seconds so far (Linux ``/proc``; None elsewhere)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _scratch_dir() -> str:
    """A temporary directory removed when the benchmark exits (a 40,000-record database is 250 MB)."""
    path = tempfile.mkdtemp(prefix="lec-bench-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def fresh_app(database_url: str | None, **config: Any) -> Any:
    from flask_migrate import upgrade

    from connector import create_app
    from connector.db import db
    from connector.policy_store import ensure_default_policy

    url = database_url or f"sqlite:///{_scratch_dir()}/bench.db"
    app = create_app({"CONNECTOR_DATABASE_URL": url, "CONNECTOR_SECRET_KEY": "bench",
                      "CONNECTOR_BASE_URL": "http://127.0.0.1:9", **config})
    app.instance_path = _scratch_dir()
    with app.app_context():
        upgrade(directory=app.extensions["license_exception_connector"]["migrations"])
        ensure_default_policy("bench")
        db.session.commit()
    return app


def connect(app: Any, kind: str, name: str, settings: dict[str, Any]) -> None:
    """Create the connection and authorise it through the sandbox's real OAuth endpoints."""
    from connector import connections
    from connector.connections import start_authorization
    from connector.db import db

    with app.app_context():
        conn = connections.create(name, kind, settings, "bench")
        url = start_authorization(conn, "bench")
        db.session.commit()
    if url is None:
        return
    r = requests.get(url, allow_redirects=False, timeout=30)
    location = r.headers["Location"]
    query = parse_qs(urlparse(location).query)
    client = app.test_client()
    done = client.get(f"/oauth/callback?code={query['code'][0]}&state={query['state'][0]}")
    if done.status_code != 200:
        raise RuntimeError(f"authorization failed: {done.get_data(as_text=True)}")


@contextmanager
def sandbox_connection(kind: str, records: int,
                       database_url: str | None = None) -> Iterator[tuple[Any, SandboxProcess]]:
    """A sandbox holding ``records`` flagged records (rate limits off), a fresh connector app and its
    connection ``bench``, authorised through the sandbox's OAuth endpoints; the sandbox stops afterwards."""
    extra = ["--export-lag", "0", "--all-flagged"] if kind == "zendesk" else []
    sandbox = SandboxProcess(kind, records, extra)
    try:
        base = sandbox.info["base_url"]
        app = fresh_app(database_url, CONNECTOR_ALLOWED_INSTANCE_HOSTS=base.split("://", 1)[1])
        if kind == "salesforce":
            settings = {"login_url": base, "client_id": sandbox.info["client_id"],
                        "client_secret": sandbox.info["client_secret"], "auth": "web_server"}
        else:
            settings = {"subdomain": "bench", "base_url": base, "client_id": sandbox.info["client_id"],
                        "client_secret": sandbox.info["client_secret"], "auth": "oauth",
                        "field_ids": sandbox.info["field_ids"], "export_requests_per_minute": 0}
        connect(app, kind, "bench", settings)
        yield app, sandbox
    finally:
        sandbox.stop()


#: records per page the APIs serve: a Salesforce query page, a Zendesk cursor-export page
PAGE_SIZE = {"salesforce": 2000, "zendesk": 1000}


def peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_postgres(url: str | None) -> str:
    """``url`` when given (an empty database), else a new database on the local server."""
    if url:
        return url
    base = make_url("postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"lec_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_postgres(url: str) -> None:
    """Drop a database a benchmark created (``WITH (FORCE)`` closes the connections still open to it)."""
    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    engine.dispose()


@contextmanager
def gunicorn(env: dict[str, str], port: int, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """The connector under gunicorn with the shipped ``gunicorn.conf.py`` on ``port``, until the block ends."""
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "--access-logfile", "/dev/null", *extra, "wsgi:app"],
                              cwd=ROOT, env={**os.environ, **env})
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if requests.get(base + "/api/v1/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def process_tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children still running (Linux ``/proc``; 0 elsewhere)."""
    total = 0.0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for each in [str(pid), *children]:
        total += pid_cpu_s(int(each))
    return total


def pid_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_backends_cpu_s(url: str) -> float:
    """CPU seconds of the PostgreSQL backends now connected to ``url``'s database (same machine)."""
    target = make_url(url)
    engine = create_engine(target)
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                            {"d": target.database}).scalars().all()
    engine.dispose()
    return sum(pid_cpu_s(int(pid)) for pid in pids)


def percentile(values: list[float], share: float) -> float | None:
    """The ``share`` percentile (0.99: p99) of ``values``, in milliseconds rounded to 0.1 ms."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return round(ordered[index] * 1000, 1)
