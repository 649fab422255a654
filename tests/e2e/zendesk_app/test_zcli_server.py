"""Zendesk's own CLI serves the app offline (``zcli apps:server``): the manifest parses, the locations and
settings come out as Zendesk would load them, and every asset resolves. (``zcli apps:validate`` and
``apps:package`` post the zip to a live Zendesk account, which CI has not got: ``tests/unit/zendesk/
test_app_build.py`` checks what they would.)"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from support.field_tools import tool_env, zcli_path

from adapters.zendesk.app_build import app_files, fill


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_zcli_apps_server_serves_the_app_with_its_locations_settings_and_assets(tmp_path: Path):
    if not zcli_path().exists():
        pytest.skip(f"{zcli_path()} is missing: run .ci/field-tools again (it installs zcli)")
    app = tmp_path / "app"
    for name, content in fill(app_files(), "https://lec.example.com").items():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_bytes(content)
    (app / "zcli.apps.config.json").write_text(json.dumps({"parameters": {
        "connector_url": "https://lec.example.com", "connection": "zd-prod", "token": "placeholder"}}))
    port = free_port()
    server = subprocess.Popen([str(zcli_path()), "apps:server", str(app), "--port", str(port)], cwd=tmp_path,
                              env=tool_env(tmp_path / "home"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        served = None
        deadline = time.monotonic() + 60
        while served is None and time.monotonic() < deadline and server.poll() is None:
            try:
                served = requests.get(f"http://127.0.0.1:{port}/app.json", timeout=2).json()
            except requests.RequestException:
                time.sleep(0.3)
        assert served is not None, server.stdout.read().decode() if server.stdout and server.poll() is not None else ""
        [listed] = served["apps"]
        assert listed["framework_version"] == "2.0"
        assert set(listed["locations"]["support"]) == {"ticket_sidebar", "new_ticket_sidebar"}
        [installed] = served["installations"]
        assert {"connection": "zd-prod"} in installed["settings"]
        prefix = listed["asset_url_prefix"].replace("localhost", "127.0.0.1")
        for asset in ("iframe.html", "main.js", "main.css"):
            answer = requests.get(prefix + asset, timeout=5)
            assert answer.status_code == 200 and answer.content == (app / "assets" / asset).read_bytes(), asset
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the npx-style wrapper and its node child
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        if server.stdout is not None:
            server.stdout.close()
    shutil.rmtree(tmp_path / "home", ignore_errors=True)
