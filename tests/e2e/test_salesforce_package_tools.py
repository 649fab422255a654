"""The vendors' tools accept the DX package offline: the Salesforce CLI converts it, listing every component in
its ``package.xml`` and leaving the Jest tests out, and the status component's Jest tests pass under
``@salesforce/sfdx-lwc-jest``."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

from support.field_tools import run_tool, tools_dir

from adapters.salesforce.package_build import Target, fill, metadata_files, source_files, write_project

NS = "{http://soap.sforce.com/2006/04/metadata}"
PACKAGE = Path(str(resources.files("adapters") / "salesforce" / "package"))


TOP_LEVEL = {"object": "CustomObject", "layout": "Layout", "permissionset": "PermissionSet",
             "quickAction": "QuickAction", "flexipage": "FlexiPage", "js": "LightningComponentBundle",
             "flow": "Flow", "workflow": "Workflow"}


def components(default: Path) -> set[tuple[str, str]]:
    """(type, member) for each file of the DX source, as the Metadata API names them."""
    found: set[tuple[str, str]] = set()
    for path in default.rglob("*-meta.xml"):
        stem, kind = path.name.removesuffix("-meta.xml").rsplit(".", 1)
        if kind in ("field", "validationRule"):
            found.add(({"field": "CustomField", "validationRule": "ValidationRule"}[kind],
                       f"{path.parent.parent.name}.{stem}"))
        else:
            found.add((TOP_LEVEL[kind], stem))
        if kind == "workflow":  # its outbound messages are components of their own
            found |= {("WorkflowOutboundMessage", f"{stem}.{message.findtext(f'{NS}fullName')}")
                      for message in ET.parse(path).getroot().iter(f"{NS}outboundMessages")}
    return found


def test_sf_project_convert_source_lists_every_component(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(PACKAGE, project)
    out = tmp_path / "mdapi"
    result = run_tool("sf", ["project", "convert", "source", "--root-dir", "force-app", "--output-dir", str(out),
                             "--json"], cwd=project, home=tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["status"] == 0
    manifest = ET.parse(out / "package.xml").getroot()
    listed = {(types.findtext(f"{NS}name"), member.text)
              for types in manifest.iter(f"{NS}types") for member in types.iter(f"{NS}members")}
    assert listed == components(project / "force-app" / "main" / "default")
    assert (out / "objects" / "License_Exception_Request__c.object").is_file()
    bundle = out / "lwc" / "licenseExceptionStatus"
    assert (bundle / "licenseExceptionStatus.js").is_file() and not (bundle / "__tests__").exists()


def test_the_status_component_passes_its_jest_tests_one_per_state(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(PACKAGE, project)
    (project / "node_modules").symlink_to(tools_dir() / "node_modules")
    report = tmp_path / "jest.json"
    result = run_tool("sfdx-lwc-jest", ["--", "--ci", "--json", f"--outputFile={report}"], cwd=project,
                      home=tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(report.read_text())
    titles = [t["title"] for suite in outcome["testResults"] for t in suite["assertionResults"]
              if t["status"] == "passed"]
    assert outcome["numFailedTests"] == 0 and outcome["numPassedTests"] == len(titles) >= 10
    for state in ("missing information", "approved request", "denied request", "expired request", "revoked request"):
        assert any(state in title for title in titles), state


def canonical(content: bytes) -> str:
    """XML without the whitespace between elements, attributes in order: what a parser sees."""
    root = ET.fromstring(content)
    for element in root.iter():
        if element.text is not None and not element.text.strip():
            element.text = None
        element.tail = None
    return ET.canonicalize(ET.tostring(root, encoding="unicode"))


def test_the_connectors_own_conversion_matches_the_cli(tmp_path: Path):
    """What the connector deploys (no Node, no CLI) is what `sf project convert source` makes of the project."""
    files = fill(source_files(), Target("https://lec.example.com/webhooks/salesforce/sf-prod", "int@acme.example"))
    project = tmp_path / "project"
    write_project(files, project)
    out = tmp_path / "mdapi"
    result = run_tool("sf", ["project", "convert", "source", "--root-dir", "force-app", "--output-dir", str(out),
                             "--json"], cwd=project, home=tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    cli = {path.relative_to(out).as_posix(): path.read_bytes() for path in out.rglob("*") if path.is_file()}
    ours = metadata_files(files)
    assert set(ours) == set(cli)
    for name in ours:
        if name.endswith((".js", ".html", ".css")):
            assert ours[name] == cli[name], name
        else:
            assert canonical(ours[name]) == canonical(cli[name]), name
