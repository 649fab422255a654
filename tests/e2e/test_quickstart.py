"""The README's quick start, run as written: its blocks are taken verbatim from README.md and run with bash — the
server and the worker in the background, as their terminals would, the first request in the foreground."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"<!-- quickstart:(\w+) -->\s*```bash\n(.*?)```\s*<!-- quickstart:end -->", re.S)
pytestmark = pytest.mark.e2e


def quickstart_blocks() -> dict[str, str]:
    return dict(BLOCK.findall((ROOT / "README.md").read_text("utf-8")))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(block: str, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(["bash", "-euo", "pipefail", "-c", block], cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_health(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if requests.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the server did not answer within 90 s:\n{log.read_text()}")


def test_the_readme_has_the_three_quickstart_blocks():
    blocks = quickstart_blocks()
    assert set(blocks) == {"server", "worker", "client"}
    assert "lec run" in blocks["server"] and "lec worker" in blocks["worker"]
    assert "INTAKE=$(" in blocks["client"] and "CHAIR=$(" in blocks["client"] and "LEX-1001" not in blocks[
        "client"].split("# →")[0]


def test_the_quickstart_runs_as_written(database_url, tmp_path):
    blocks = quickstart_blocks()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")},
           "PORT": str(port), "CONNECTOR_DATABASE_URL": database_url,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = start(blocks["server"], tmp_path, env, tmp_path / "server.log")
    worker = None
    try:
        wait_for_health(base, server, tmp_path / "server.log")
        worker = start(blocks["worker"], tmp_path, env, tmp_path / "worker.log")
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", blocks["client"]], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert re.fullmatch(r"LEX-\d+ in_review fast low", lines[0]), done.stdout
        assert lines[1] == "approved", done.stdout
        assert "account lena@vendor.example created" in done.stdout
        assert lines[-1] == f"Sign in at {base}/sign-in as lena@vendor.example (password: a long enough password)"
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()  # the worker keeps running
        signed_in = requests.Session()
        page = signed_in.get(f"{base}/sign-in", timeout=10)
        assert page.status_code == 200 and "csrf_token" in page.text
    finally:
        if worker is not None:
            stop(worker)
        stop(server)
    assert "database: up to date" in (tmp_path / "server.log").read_text()
