"""What the sandbox org makes of a Metadata API deployment: it checks the zip as an org would (``package.xml``
lists every component and every component is in the zip, each file is well-formed metadata XML of the type its
folder says, the fields that layouts, permission sets, quick actions, flows, pages and components name exist), and
turns what it accepts into the sandbox's schema: the object's fields as ``describe`` reports them, and the push
rules (a record-triggered flow calling an outbound message) it fires when records are saved.

Refusals use the shape of ``deployResult.details.componentFailures`` so the connector's deploy code reads them as
it reads a real org's.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .sandbox_records import FieldSpec

NS = "{http://soap.sforce.com/2006/04/metadata}"
#: Metadata API folder -> (type, file suffix)
FOLDERS: dict[str, tuple[str, str]] = {
    "objects": ("CustomObject", ".object"),
    "layouts": ("Layout", ".layout"),
    "permissionsets": ("PermissionSet", ".permissionset"),
    "quickActions": ("QuickAction", ".quickAction"),
    "flexipages": ("FlexiPage", ".flexipage"),
    "flows": ("Flow", ".flow"),
    "workflows": ("Workflow", ".workflow"),
}
#: children deployed inside their parent's file: type -> (parent type, element, name element)
CHILDREN: dict[str, tuple[str, str]] = {
    "CustomField": ("CustomObject", "fields"),
    "ValidationRule": ("CustomObject", "validationRules"),
    "WorkflowOutboundMessage": ("Workflow", "outboundMessages"),
}
#: metadata field type -> describe type
FIELD_TYPES: dict[str, str] = {
    "Text": "string", "TextArea": "textarea", "LongTextArea": "textarea", "Number": "double", "Currency": "currency",
    "Percent": "percent", "Date": "date", "DateTime": "datetime", "Url": "url", "Email": "email", "Phone": "phone",
    "Checkbox": "boolean", "Picklist": "picklist", "MultiselectPicklist": "multipicklist", "Lookup": "reference",
}
STANDARD_FIELDS = ("Id", "Name", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp",
                   "CurrencyIsoCode", "OwnerId", "CreatedById", "LastModifiedById")
STANDARD_COMPONENT_PREFIXES = ("force:", "flexipage:", "runtime_", "lst:", "forceChatter:", "record_flexipage:")
_CHANGED = re.compile(r"ISCHANGED\(\s*\{!\$Record\.(\w+)\}\s*\)")
_SCHEMA_IMPORT = re.compile(r"@salesforce/schema/(\w+)\.(\w+)")


@dataclass(frozen=True)
class PushRule:
    """A flow that sends an outbound message when a record is saved: on create if the entry formula says
    ``ISNEW()``, on a change of a watched field (``None``: on every save)."""

    object_name: str
    message: str
    endpoint_url: str
    fields: tuple[str, ...]
    on_create: bool
    watched: frozenset[str] | None

    def fires(self, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
        if before is None:
            return self.on_create or self.watched is None
        if self.watched is None:
            return True
        return any(before.get(name) != after.get(name) for name in self.watched)


@dataclass
class Deployment:
    """What an accepted deployment adds to the org."""

    components: list[tuple[str, str]] = field(default_factory=list)
    objects: dict[str, list[FieldSpec]] = field(default_factory=dict)
    push_rules: list[PushRule] = field(default_factory=list)
    bundles: set[str] = field(default_factory=set)


class _Check:
    """The deployment under inspection: its files, manifest and failures so far."""

    def __init__(self, files: dict[str, bytes], known_objects: Mapping[str, Iterable[str]]) -> None:
        self.files = files
        self.failures: list[dict[str, Any]] = []
        self.roots: dict[str, ET.Element] = {}
        self.known = {name: set(fields) for name, fields in known_objects.items()}

    def fail(self, kind: str, name: str, file_name: str, problem: str, line: int | None = None) -> None:
        failure: dict[str, Any] = {"componentType": kind, "fullName": name, "fileName": file_name,
                                   "problem": problem, "problemType": "Error", "success": False}
        if line is not None:
            failure["lineNumber"] = line
        self.failures.append(failure)

    def has_field(self, obj: str, name: str) -> bool:
        return name in self.known.get(obj, set()) or (name in STANDARD_FIELDS and obj in self.known)

    def need_field(self, obj: str, name: str, kind: str, member: str, file_name: str) -> None:
        if obj not in self.known:
            self.fail(kind, member, file_name, f"Entity of type '{obj}' named '{obj}' cannot be found")
        elif not self.has_field(obj, name):
            self.fail(kind, member, file_name, f"Field {name} does not exist. Check spelling.")


def inspect_deployment(archive: bytes,
                       known_objects: Mapping[str, Iterable[str]]) -> tuple[Deployment, list[dict[str, Any]]]:
    """Check a deployment zip against the org (``known_objects``: object -> field names it has now); returns
    what it deploys and the component failures (none: it may be applied)."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            files = {name: zipped.read(name) for name in zipped.namelist() if not name.endswith("/")}
    except zipfile.BadZipFile:
        check = _Check({}, known_objects)
        check.fail("", "deploy.zip", "deploy.zip", "The deployment is not a zip file")
        return Deployment(), check.failures
    check = _Check(files, known_objects)
    manifest = _manifest(check)
    if manifest is None:
        return Deployment(), check.failures
    deployment = Deployment()
    found = _components(check, deployment)
    for kind, member in sorted(manifest - found):
        check.fail(kind, member, "package.xml", f"An object '{member}' of type {kind} was named in package.xml, "
                   "but was not found in zipped directory")
    for kind, member in sorted(found - manifest):
        check.fail(kind, member, "package.xml", f"{kind} {member} is in the zip but not listed in package.xml")
    if not check.failures:
        _references(check, deployment)
    deployment.components = sorted(found)
    return deployment, check.failures


def _parse(check: _Check, name: str, kind: str) -> ET.Element | None:
    try:
        root = ET.fromstring(check.files[name])
    except ET.ParseError as exc:
        check.fail(kind, PurePosixPath(name).stem, name, f"Error parsing file: {exc}", exc.position[0])
        return None
    if root.tag != f"{NS}{kind}":
        check.fail(kind, PurePosixPath(name).stem, name, f"Expected a {kind} in the metadata namespace, found "
                   f"{root.tag}")
        return None
    check.roots[name] = root
    return root


def _manifest(check: _Check) -> set[tuple[str, str]] | None:
    if "package.xml" not in check.files:
        check.fail("", "package.xml", "package.xml", "No package.xml found")
        return None
    root = _parse(check, "package.xml", "Package")
    if root is None:
        return None
    return {(types.findtext(f"{NS}name") or "", member.text or "")
            for types in root.findall(f"{NS}types") for member in types.findall(f"{NS}members")}


def _components(check: _Check, deployment: Deployment) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for name in sorted(check.files):
        if name == "package.xml":
            continue
        parts = PurePosixPath(name).parts
        if parts[0] == "lwc" and len(parts) == 3:
            deployment.bundles.add(parts[1])
            found.add(("LightningComponentBundle", parts[1]))
            continue
        kind, suffix = FOLDERS.get(parts[0], ("", ""))
        if not kind or len(parts) != 2 or not parts[1].endswith(suffix):
            check.fail("", name, name, f"Unknown type name for {name}: the sandbox deploys "
                       f"{', '.join(sorted(FOLDERS))} and lwc bundles")
            continue
        member = parts[1].removesuffix(suffix)
        root = _parse(check, name, kind)
        found.add((kind, member))
        if root is None:
            continue
        for child_kind, (parent, element) in CHILDREN.items():
            if parent == kind:
                found |= {(child_kind, f"{member}.{child.findtext(f'{NS}fullName')}")
                          for child in root.findall(f"{NS}{element}")}
        if kind == "CustomObject":
            fields = _object_fields(check, member, root, name)
            deployment.objects[member] = fields
            check.known[member] = {spec.name for spec in fields}
    return found


def _object_fields(check: _Check, obj: str, root: ET.Element, file_name: str) -> list[FieldSpec]:
    """The object as ``describe`` will list it: the standard fields, then each custom field."""
    name_label = root.findtext(f"{NS}nameField/{NS}label") or "Name"
    specs = [FieldSpec("Id", "id", "Record ID", updateable=False, length=18),
             FieldSpec("Name", "string", name_label, length=80),
             FieldSpec("IsDeleted", "boolean", "Deleted", updateable=False),
             FieldSpec("CreatedDate", "datetime", "Created Date", updateable=False),
             FieldSpec("LastModifiedDate", "datetime", "Last Modified Date", updateable=False),
             FieldSpec("SystemModstamp", "datetime", "System Modstamp", updateable=False),
             FieldSpec("CurrencyIsoCode", "picklist", "Currency ISO Code", length=3,
                       picklist=("USD", "EUR", "GBP", "JPY"))]
    for element in root.findall(f"{NS}fields"):
        spec = _field_spec(check, obj, element, file_name)
        if spec is not None:
            specs.append(spec)
    return specs


def _field_spec(check: _Check, obj: str, element: ET.Element, file_name: str) -> FieldSpec | None:
    name = element.findtext(f"{NS}fullName") or ""
    kind = element.findtext(f"{NS}type") or ""
    member = f"{obj}.{name}"
    if not name.endswith("__c"):
        check.fail("CustomField", member, file_name, "Custom field names must end with __c")
        return None
    if kind not in FIELD_TYPES:
        check.fail("CustomField", member, file_name, f"Unknown field type: {kind or '(none)'}")
        return None
    values = tuple(v.findtext(f"{NS}fullName") or "" for v in element.iter(f"{NS}value"))
    if kind in ("Picklist", "MultiselectPicklist") and not values:
        check.fail("CustomField", member, file_name, "A picklist needs a value set with at least one value")
    length = int(element.findtext(f"{NS}length") or 0)
    if kind == "Text" and not 0 < length <= 255:
        check.fail("CustomField", member, file_name, "Length must be between 1 and 255 for a Text field")
    if kind == "Lookup":
        target = element.findtext(f"{NS}referenceTo") or ""
        if target not in check.known and target != obj:
            check.fail("CustomField", member, file_name, f"referenceTo value of '{target}' does not resolve to a "
                       "valid sObject type")
        return FieldSpec(name, "reference", element.findtext(f"{NS}label") or name, length=18, reference_to=target,
                         relationship_name=f"{name.removesuffix('__c')}__r")
    if kind == "MultiselectPicklist":
        length = 4099
    elif kind in ("LongTextArea", "TextArea"):
        length = length or 32768
    return FieldSpec(name, FIELD_TYPES[kind], element.findtext(f"{NS}label") or name, length=length,
                     picklist=values)


def _references(check: _Check, deployment: Deployment) -> None:
    """Every field, object, message and component a file names exists (in this deployment or the org)."""
    messages: dict[str, ET.Element] = {}
    for file_name, root in check.roots.items():
        folder, stem = file_name.split("/", 1)[0], PurePosixPath(file_name).stem
        if folder == "workflows":
            for message in root.findall(f"{NS}outboundMessages"):
                messages[f"{stem}.{message.findtext(f'{NS}fullName')}"] = message
                _check_message(check, stem, message, file_name)
    for file_name, root in check.roots.items():
        folder, stem = file_name.split("/", 1)[0], PurePosixPath(file_name).stem
        if folder == "objects":
            _check_rules(check, stem, root, file_name)
        elif folder == "layouts":
            obj = stem.split("-", 1)[0]
            for item in root.iter(f"{NS}layoutItems"):
                check.need_field(obj, item.findtext(f"{NS}field") or "", "Layout", stem, file_name)
        elif folder == "permissionsets":
            _check_permissions(check, stem, root, file_name)
        elif folder == "quickActions":
            _check_quick_action(check, stem, root, file_name)
        elif folder == "flows":
            rule = _check_flow(check, stem, root, file_name, messages)
            if rule is not None:
                deployment.push_rules.append(rule)
        elif folder == "flexipages":
            _check_page(check, stem, root, file_name, deployment.bundles)
    for bundle in deployment.bundles:
        _check_bundle(check, bundle)


def _check_message(check: _Check, obj: str, message: ET.Element, file_name: str) -> None:
    member = f"{obj}.{message.findtext(f'{NS}fullName')}"
    url = message.findtext(f"{NS}endpointUrl") or ""
    if not url.startswith(("https://", "http://")):
        check.fail("WorkflowOutboundMessage", member, file_name, f"Invalid endpoint URL: {url or '(none)'}")
    if not (message.findtext(f"{NS}integrationUser") or "").strip():
        check.fail("WorkflowOutboundMessage", member, file_name, "An integration user is required")
    for name in message.findall(f"{NS}fields"):
        check.need_field(obj, name.text or "", "WorkflowOutboundMessage", member, file_name)


def _check_rules(check: _Check, obj: str, root: ET.Element, file_name: str) -> None:
    for rule in root.findall(f"{NS}validationRules"):
        member = f"{obj}.{rule.findtext(f'{NS}fullName')}"
        formula = rule.findtext(f"{NS}errorConditionFormula") or ""
        for name in sorted(set(re.findall(r"\b(\w+__c)\b", formula))):
            check.need_field(obj, name, "ValidationRule", member, file_name)
        display = rule.findtext(f"{NS}errorDisplayField")
        if display:
            check.need_field(obj, display, "ValidationRule", member, file_name)


def _check_permissions(check: _Check, stem: str, root: ET.Element, file_name: str) -> None:
    for perm in root.findall(f"{NS}fieldPermissions"):
        obj, _, name = (perm.findtext(f"{NS}field") or "").partition(".")
        check.need_field(obj, name, "PermissionSet", stem, file_name)
    for perm in root.findall(f"{NS}objectPermissions"):
        obj = perm.findtext(f"{NS}object") or ""
        if obj not in check.known:
            check.fail("PermissionSet", stem, file_name, f"In field: object - no CustomObject named {obj} found")


def _check_quick_action(check: _Check, stem: str, root: ET.Element, file_name: str) -> None:
    target = root.findtext(f"{NS}targetObject") or ""
    parent = stem.split(".", 1)[0] if "." in stem else ""
    if parent and parent not in check.known:
        check.fail("QuickAction", stem, file_name, f"Entity of type '{parent}' named '{parent}' cannot be found")
    names = [root.findtext(f"{NS}targetParentField") or ""]
    names += [item.findtext(f"{NS}field") or "" for item in root.iter(f"{NS}quickActionLayoutItems")]
    names += [item.findtext(f"{NS}field") or "" for item in root.iter(f"{NS}fieldOverrides")]
    for name in filter(None, names):
        check.need_field(target, name, "QuickAction", stem, file_name)


def _check_flow(check: _Check, stem: str, root: ET.Element, file_name: str,
                messages: Mapping[str, ET.Element]) -> PushRule | None:
    start = root.find(f"{NS}start")
    obj = start.findtext(f"{NS}object") or "" if start is not None else ""
    formula = start.findtext(f"{NS}filterFormula") or "" if start is not None else ""
    watched = set(_CHANGED.findall(formula))
    for name in sorted(watched):
        check.need_field(obj, name, "Flow", stem, file_name)
    rule = None
    for action in root.findall(f"{NS}actionCalls"):
        if action.findtext(f"{NS}actionType") != "outboundMessage":
            continue
        target = action.findtext(f"{NS}actionName") or ""
        message = messages.get(target)
        if message is None:
            check.fail("Flow", stem, file_name, f"The outbound message {target} doesn't exist")
            continue
        active = (root.findtext(f"{NS}status") or "") == "Active"
        if active and start is not None and start.findtext(f"{NS}triggerType") == "RecordAfterSave":
            rule = PushRule(obj, target, message.findtext(f"{NS}endpointUrl") or "",
                            tuple(f.text or "" for f in message.findall(f"{NS}fields")),
                            on_create="ISNEW()" in formula or not formula,
                            watched=frozenset(watched) if formula else None)
    return rule


def _check_page(check: _Check, stem: str, root: ET.Element, file_name: str, bundles: set[str]) -> None:
    obj = root.findtext(f"{NS}sobjectType")
    if obj and obj not in check.known:
        check.fail("FlexiPage", stem, file_name, f"Entity of type '{obj}' named '{obj}' cannot be found")
    for component in root.iter(f"{NS}componentName"):
        name = component.text or ""
        if name.startswith("c:") and name[2:] not in bundles:
            check.fail("FlexiPage", stem, file_name, f"Component [{name}] does not exist")
        elif ":" not in name or not name.startswith(("c:", *STANDARD_COMPONENT_PREFIXES)):
            check.fail("FlexiPage", stem, file_name, f"Unknown component [{name}]")


def _check_bundle(check: _Check, bundle: str) -> None:
    base = f"lwc/{bundle}/{bundle}"
    for needed in (f"{base}.js", f"{base}.js-meta.xml"):
        if needed not in check.files:
            check.fail("LightningComponentBundle", bundle, needed, f"A bundle needs {PurePosixPath(needed).name}")
    if f"{base}.js-meta.xml" in check.files:
        _parse(check, f"{base}.js-meta.xml", "LightningComponentBundle")
    source = check.files.get(f"{base}.js", b"").decode("utf-8", "replace")
    for obj, name in sorted(set(_SCHEMA_IMPORT.findall(source))):
        check.need_field(obj, name, "LightningComponentBundle", bundle, f"{base}.js")


__all__ = ["Deployment", "PushRule", "inspect_deployment"]
