"""The Salesforce CLI converts the DX package offline, listing every component in its ``package.xml``."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

from support.field_tools import run_tool

NS = "{http://soap.sforce.com/2006/04/metadata}"
PACKAGE = Path(str(resources.files("adapters") / "salesforce" / "package"))


def components(default: Path) -> set[tuple[str, str]]:
    """(type, member) for each file of the DX source, as the Metadata API names them."""
    found: set[tuple[str, str]] = set()
    for path in default.rglob("*-meta.xml"):
        stem, kind = path.name.removesuffix("-meta.xml").rsplit(".", 1)
        if kind in ("field", "validationRule"):
            found.add(({"field": "CustomField", "validationRule": "ValidationRule"}[kind],
                       f"{path.parent.parent.name}.{stem}"))
        else:
            found.add(({"object": "CustomObject", "layout": "Layout", "permissionset": "PermissionSet",
                        "quickAction": "QuickAction"}[kind], stem))
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
