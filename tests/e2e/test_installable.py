"""The product as a wheel: everything it runs on is inside (migrations, templates, static files, the default
policy and mappings, the Salesforce package and the Zendesk app) and ``lec`` is its console script. CI goes
further (.ci/run): ``pip install .`` into a fresh virtualenv, then ``lec demo --once`` outside the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")  # setuptools' build folder, kept out of the repository
    # built from a copy: setuptools writes its egg-info next to the sources, and two test runs at once (CI runs
    # the SQLite and PostgreSQL passes side by side) would build into the same folder
    source = build / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "*.egg-info", "build", "dist", "test-results", "lec-demo", "node_modules", ".venv",
        ".mypy_cache", ".ruff_cache", ".pytest_cache"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           "--wheel-dir", str(out), str(source)], capture_output=True, text=True, timeout=300,
                          cwd=build)
    assert done.returncode == 0, done.stderr
    [path] = out.glob("license_exception_connector-*.whl")
    return zipfile.ZipFile(path)


def shipped(root: Path, pattern: str) -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts}


def test_the_wheel_carries_what_the_product_runs_on(wheel):
    names = set(wheel.namelist())
    wanted = (shipped(ROOT / "connector" / "migrations", "**/*")
              | shipped(ROOT / "connector" / "templates", "**/*") | shipped(ROOT / "connector" / "static", "**/*")
              | shipped(ROOT / "mappings", "*.yaml") | {"connector/governance/default_policy.yaml"}
              | shipped(ROOT / "adapters" / "salesforce" / "package" / "force-app", "**/*-meta.xml")
              | shipped(ROOT / "adapters" / "zendesk" / "app", "manifest.json"))
    assert {"connector/migrations/env.py", "connector/migrations/alembic.ini",
            "connector/migrations/versions/0001_governance_core.py"} <= wanted
    assert wanted - names == set()


def test_the_wheel_installs_the_lec_console_script(wheel):
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "[console_scripts]\nlec = connector.console:main" in text
