"""The Salesforce package shipped with the connector: filled in for one connection, written out as a DX project,
or turned into the Metadata API zip that ``deployRequest`` takes — the same layout ``sf project convert source``
produces (checked against the CLI in the tests), so the connector deploys without Node or the CLI.

The DX source (``adapters/salesforce/package``) holds two placeholders, in the outbound message only: the push URL
and the integration user the message runs as. ``fill`` replaces them; nothing else differs between orgs.
"""

from __future__ import annotations

import fnmatch
import io
import json
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from xml.sax.saxutils import escape

PACKAGE_ROOT = Path(str(resources.files("adapters") / "salesforce" / "package"))
SOURCE_DIR = "force-app/main/default"
METADATA_NS = "http://soap.sforce.com/2006/04/metadata"
NS = f"{{{METADATA_NS}}}"

PUSH_URL_PLACEHOLDER = "https://connector.example.invalid/webhooks/salesforce/CONNECTION"
INTEGRATION_USER_PLACEHOLDER = "integration.user@example.invalid"

#: DX folder -> (metadata type, file suffix) of the components that convert one file to one file
SIMPLE_TYPES: dict[str, tuple[str, str]] = {
    "layouts": ("Layout", "layout"),
    "permissionsets": ("PermissionSet", "permissionset"),
    "quickActions": ("QuickAction", "quickAction"),
    "flexipages": ("FlexiPage", "flexipage"),
    "flows": ("Flow", "flow"),
    "workflows": ("Workflow", "workflow"),
}
#: a custom object's child folders -> (metadata type, the object element that holds them in the Metadata API form)
OBJECT_CHILDREN: dict[str, tuple[str, str, str]] = {
    "fields": ("CustomField", "fields", "field"),
    "validationRules": ("ValidationRule", "validationRules", "validationRule"),
}

ET.register_namespace("", METADATA_NS)


class PackageError(ValueError):
    """A file in the DX project that is not metadata this builder knows how to deploy."""


@dataclass(frozen=True)
class Target:
    """What differs between orgs: where the outbound message posts, and which user it runs as."""

    push_url: str
    integration_user: str


def source_files(root: Path = PACKAGE_ROOT) -> dict[str, bytes]:
    """The project's files by relative POSIX path, without what ``.forceignore`` leaves out."""
    ignored = _forceignore(root)
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and "__pycache__" not in relative and not _ignored(relative, ignored):
            files[relative] = path.read_bytes()
    return files


def _forceignore(root: Path) -> list[str]:
    path = root / ".forceignore"
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _ignored(relative: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, pattern.removeprefix("**/"))
               for pattern in patterns)


def fill(files: Mapping[str, bytes], target: Target) -> dict[str, bytes]:
    """The project with the placeholders replaced (as XML text) by the connection's push URL and user."""
    filled: dict[str, bytes] = {}
    for name, content in files.items():
        if name.endswith(".workflow-meta.xml"):
            text = content.decode("utf-8")
            text = text.replace(PUSH_URL_PLACEHOLDER, escape(target.push_url))
            text = text.replace(INTEGRATION_USER_PLACEHOLDER, escape(target.integration_user))
            content = text.encode("utf-8")
        filled[name] = content
    return filled


def write_project(files: Mapping[str, bytes], out: Path) -> list[Path]:
    """Write the DX project under ``out`` (created; existing files with the same names are replaced)."""
    written = []
    for name, content in files.items():
        path = out / PurePosixPath(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written


def api_version(files: Mapping[str, bytes]) -> str:
    return str(json.loads(files["sfdx-project.json"])["sourceApiVersion"])


@dataclass
class _Converted:
    files: dict[str, bytes]
    members: dict[str, set[str]]
    objects: dict[str, ET.Element]

    def add(self, kind: str, member: str) -> None:
        self.members.setdefault(kind, set()).add(member)


def metadata_files(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The Metadata API form of the project: a file per component, each object with its fields and validation
    rules inside, and ``package.xml`` listing every component."""
    out = _Converted({}, {}, {})
    for name, content in sorted(files.items(), key=lambda item: item[0].lower()):  # the CLI's order
        if not name.startswith(SOURCE_DIR + "/"):
            continue
        parts = PurePosixPath(name).relative_to(SOURCE_DIR).parts
        if parts[0] == "objects":
            _object_part(out, parts, content)
        elif parts[0] == "lwc" and len(parts) == 3:
            out.files["/".join(parts)] = content
            out.add("LightningComponentBundle", parts[1])
        elif parts[0] in SIMPLE_TYPES and len(parts) == 2:
            _simple(out, parts, content)
        else:
            raise PackageError(f"{name}: not a kind of metadata the connector deploys")
    for obj, root in out.objects.items():
        out.files[f"objects/{obj}.object"] = _xml(root)
    out.files["package.xml"] = package_xml(out.members, api_version(files))
    return out.files


def _simple(out: _Converted, parts: tuple[str, ...], content: bytes) -> None:
    kind, suffix = SIMPLE_TYPES[parts[0]]
    ending = f".{suffix}-meta.xml"
    if not parts[1].endswith(ending):
        raise PackageError(f"{'/'.join(parts)}: expected a {ending} file")
    member = parts[1].removesuffix(ending)
    root = _parse(content, kind, "/".join(parts))
    out.files[f"{parts[0]}/{member}.{suffix}"] = content
    out.add(kind, member)
    if kind == "Workflow":
        for message in root.iter(f"{NS}outboundMessages"):
            out.add("WorkflowOutboundMessage", f"{member}.{message.findtext(f'{NS}fullName')}")


def _object_part(out: _Converted, parts: tuple[str, ...], content: bytes) -> None:
    obj = parts[1]
    where = "/".join(parts)
    if len(parts) == 3 and parts[2] == f"{obj}.object-meta.xml":
        root = _parse(content, "CustomObject", where)
        children = out.objects.get(obj)
        out.objects[obj] = root
        if children is not None:  # child files sorted before the object file: keep them after its own elements
            root.extend(list(children))
        out.add("CustomObject", obj)
        return
    if len(parts) != 4 or parts[2] not in OBJECT_CHILDREN:
        raise PackageError(f"objects/{where}: not a kind of object metadata the connector deploys")
    kind, element, suffix = OBJECT_CHILDREN[parts[2]]
    child = _parse(content, kind, where)
    child.tag = f"{NS}{element}"
    holder = out.objects.setdefault(obj, ET.Element(f"{NS}CustomObject"))
    holder.append(child)
    out.add(kind, f"{obj}.{parts[3].removesuffix(f'.{suffix}-meta.xml')}")


def _parse(content: bytes, kind: str, where: str) -> ET.Element:
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise PackageError(f"{where}: not well-formed XML ({exc})") from exc
    if root.tag != f"{NS}{kind}":
        raise PackageError(f"{where}: expected a {kind} in the metadata namespace, found {root.tag}")
    return root


def _xml(root: ET.Element) -> bytes:
    ET.indent(root, space="    ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def package_xml(members: Mapping[str, set[str]], version: str) -> bytes:
    """The manifest: every component by type, types and members in order."""
    root = ET.Element(f"{NS}Package")
    for kind in sorted(members):
        types = ET.SubElement(root, f"{NS}types")
        for member in sorted(members[kind]):
            ET.SubElement(types, f"{NS}members").text = member
        ET.SubElement(types, f"{NS}name").text = kind
    ET.SubElement(root, f"{NS}version").text = version
    return _xml(root)


def metadata_zip(files: Mapping[str, bytes]) -> bytes:
    """The zip ``deployRequest`` takes: the Metadata API form of the project at the zip's root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(metadata_files(files).items()):
            archive.writestr(name, content)
    return buffer.getvalue()


__all__ = ["INTEGRATION_USER_PLACEHOLDER", "PACKAGE_ROOT", "PUSH_URL_PLACEHOLDER", "PackageError", "Target",
           "fill", "metadata_files", "metadata_zip", "package_xml", "source_files", "write_project"]
