"""The Salesforce DX package agrees with itself, with the default mapping and with the sandbox org.

`sf project convert source` (run where Node 22 is available) catches unknown types and non-XML, not a field a
layout names that does not exist or a picklist that no longer matches the mapping's value map: those are checked
here, on every file of the package.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import pytest

from adapters.salesforce.sandbox_records import request_fields
from mappings.defaults import default_mapping

NS = "{http://soap.sforce.com/2006/04/metadata}"
OBJECT = "License_Exception_Request__c"
ROOT = Path(str(resources.files("adapters") / "salesforce" / "package"))
DEFAULT = ROOT / "force-app" / "main" / "default"
OBJECT_DIR = DEFAULT / "objects" / OBJECT

#: file suffix -> the metadata type (root element) it must hold
SUFFIXES = {
    ".object-meta.xml": "CustomObject",
    ".field-meta.xml": "CustomField",
    ".validationRule-meta.xml": "ValidationRule",
    ".layout-meta.xml": "Layout",
    ".permissionset-meta.xml": "PermissionSet",
    ".quickAction-meta.xml": "QuickAction",
    ".flexipage-meta.xml": "FlexiPage",
    ".js-meta.xml": "LightningComponentBundle",
    ".workflow-meta.xml": "Workflow",
    ".flow-meta.xml": "Flow",
}
FIELD_TYPES = {"Text", "LongTextArea", "Number", "Currency", "Date", "Url", "Picklist", "MultiselectPicklist",
               "Lookup"}
#: metadata type -> the type the REST describe reports for it (what the sandbox serves)
DESCRIBE_TYPES = {"Text": "string", "LongTextArea": "textarea", "Number": "double", "Currency": "currency",
                  "Date": "date", "Url": "url", "Picklist": "picklist", "MultiselectPicklist": "multipicklist",
                  "Lookup": "reference"}
STANDARD_FIELDS = {"Id", "Name", "OwnerId", "CreatedById", "LastModifiedById", "CurrencyIsoCode", "CreatedDate",
                   "LastModifiedDate", "SystemModstamp", "IsDeleted"}


def parse(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def text(element: ET.Element, tag: str) -> str:
    return (element.findtext(f"{NS}{tag}") or "").strip()


def fields() -> dict[str, ET.Element]:
    return {path.name.removesuffix(".field-meta.xml"): parse(path)
            for path in sorted((OBJECT_DIR / "fields").glob("*.field-meta.xml"))}


def picklist_values(field: ET.Element) -> list[str]:
    return [text(value, "fullName") for value in field.iter(f"{NS}value")]


def written_back() -> set[str]:
    return set(default_mapping("salesforce").outbound)


def read_fields() -> set[str]:
    """The object's own fields the default mapping reads (``Account__r.Name`` reads the lookup ``Account__c``)."""
    names = set()
    for rule in default_mapping("salesforce").inbound.values():
        head = rule.source.split(".", 1)[0]
        names.add(re.sub(r"__r$", "__c", head))
    return names


def test_project_file_points_at_the_source_and_an_api_version():
    project = json.loads((ROOT / "sfdx-project.json").read_text())
    assert project["packageDirectories"] == [{"path": "force-app", "default": True}]
    assert re.fullmatch(r"\d{2}\.0", project["sourceApiVersion"])
    assert "**/__tests__/**" in (ROOT / ".forceignore").read_text().splitlines()


@pytest.mark.parametrize("path", sorted(DEFAULT.rglob("*-meta.xml")), ids=lambda p: p.name)
def test_every_file_is_metadata_xml_of_the_type_its_name_says(path: Path):
    suffix = next((s for s in SUFFIXES if path.name.endswith(s)), None)
    assert suffix is not None, f"unknown metadata file {path.name}"
    root = parse(path)
    assert root.tag == f"{NS}{SUFFIXES[suffix]}"
    if suffix in (".field-meta.xml", ".validationRule-meta.xml"):
        assert text(root, "fullName") == path.name.removesuffix(suffix)


def test_fields_are_well_typed_and_explained():
    for name, field in fields().items():
        kind = text(field, "type")
        assert kind in FIELD_TYPES, (name, kind)
        assert name.endswith("__c") and text(field, "label") and text(field, "inlineHelpText"), name
        if kind in ("Text",):
            assert 0 < int(text(field, "length")) <= 255, name
        if kind in ("Number", "Currency"):
            assert int(text(field, "precision")) == 18, name
        if kind in ("Picklist", "MultiselectPicklist"):
            values = picklist_values(field)
            assert values and len(values) == len(set(values)), name
            assert field.find(f"{NS}valueSet/{NS}restricted").text == "true"  # type: ignore[union-attr]
        if kind == "Lookup":
            assert text(field, "referenceTo") in ("Account", "Opportunity", "User") and text(field, "relationshipName")


def test_every_field_the_default_mapping_reads_or_writes_exists():
    declared = set(fields()) | STANDARD_FIELDS
    assert read_fields() - declared == set()
    assert written_back() - declared == set()


def test_picklists_carry_exactly_the_values_the_mapping_translates():
    declared = fields()
    for rule in default_mapping("salesforce").inbound.values():
        if rule.map is not None and rule.source in declared:
            assert picklist_values(declared[rule.source]) == list(rule.map), rule.source


def test_the_sandbox_org_serves_the_same_fields_with_the_same_values():
    declared = fields()
    for spec in request_fields():
        if spec.name in STANDARD_FIELDS:
            continue
        assert spec.name in declared, spec.name
        field = declared[spec.name]
        assert DESCRIBE_TYPES[text(field, "type")] == spec.type, spec.name
        if spec.picklist:
            assert tuple(picklist_values(field)) == spec.picklist, spec.name


def test_the_layout_shows_every_field_once_and_the_written_back_ones_read_only():
    layout = parse(next((DEFAULT / "layouts").glob(f"{OBJECT}-*.layout-meta.xml")))
    items = [(text(item, "field"), text(item, "behavior")) for item in layout.iter(f"{NS}layoutItems")]
    names = [name for name, _ in items]
    assert len(names) == len(set(names))
    assert set(fields()) <= set(names) <= set(fields()) | STANDARD_FIELDS
    behaviour = dict(items)
    assert {name: behaviour[name] for name in written_back()} == dict.fromkeys(written_back(), "Readonly")
    assert behaviour["Name"] == "Required"


def field_permissions(name: str) -> dict[str, tuple[bool, bool]]:
    root = parse(DEFAULT / "permissionsets" / f"{name}.permissionset-meta.xml")
    perms = {}
    for perm in root.iter(f"{NS}fieldPermissions"):
        obj, field = text(perm, "field").split(".")
        assert obj == OBJECT
        perms[field] = (text(perm, "readable") == "true", text(perm, "editable") == "true")
    return perms


def object_permission(name: str) -> dict[str, bool]:
    root = parse(DEFAULT / "permissionsets" / f"{name}.permissionset-meta.xml")
    perm = root.find(f"{NS}objectPermissions")
    assert perm is not None and text(perm, "object") == OBJECT
    return {child.tag.removeprefix(NS): child.text == "true" for child in perm if child.tag != f"{NS}object"}


def test_requesters_edit_what_they_file_and_only_read_what_the_connector_writes():
    perms = field_permissions("License_Exception_Requester")
    assert set(perms) == set(fields())
    assert {name for name, (_, edit) in perms.items() if not edit} == written_back() & set(fields())
    assert all(read for read, _ in perms.values())
    assert object_permission("License_Exception_Requester") == {
        "allowCreate": True, "allowDelete": False, "allowEdit": True, "allowRead": True,
        "modifyAllRecords": False, "viewAllRecords": False}


def test_the_integration_user_reads_everything_and_edits_only_the_written_back_fields():
    perms = field_permissions("License_Exception_Integration")
    assert set(perms) == set(fields())
    assert {name for name, (_, edit) in perms.items() if edit} == written_back() & set(fields())
    assert object_permission("License_Exception_Integration")["viewAllRecords"] is True
    root = parse(DEFAULT / "permissionsets" / "License_Exception_Integration.permissionset-meta.xml")
    enabled = {text(p, "name") for p in root.iter(f"{NS}userPermissions") if text(p, "enabled") == "true"}
    assert "ApiEnabled" in enabled


def test_the_validation_rule_says_end_follows_start_on_existing_fields():
    rule = parse(OBJECT_DIR / "validationRules" / "End_Follows_Start.validationRule-meta.xml")
    formula = text(rule, "errorConditionFormula")
    assert set(re.findall(r"\w+__c", formula)) == {"Requested_Start__c", "Requested_End__c"}
    assert "Requested_End__c < Requested_Start__c" in formula
    assert text(rule, "errorDisplayField") in fields() and text(rule, "active") == "true"


@pytest.mark.parametrize("parent", ["Account", "Opportunity"])
def test_the_quick_action_on_a_parent_prefills_it_and_names_existing_fields(parent: str):
    action = parse(DEFAULT / "quickActions" / f"{parent}.Request_License_Exception.quickAction-meta.xml")
    declared = fields()
    assert text(action, "type") == "Create" and text(action, "targetObject") == OBJECT
    parent_field = text(action, "targetParentField")
    assert text(declared[parent_field], "referenceTo") == parent
    named = {text(item, "field") for item in action.iter(f"{NS}quickActionLayoutItems")}
    named |= {text(item, "field") for item in action.iter(f"{NS}fieldOverrides")}
    assert named <= set(declared) | STANDARD_FIELDS
    overrides = {text(item, "field"): text(item, "formula") for item in action.iter(f"{NS}fieldOverrides")}
    if parent == "Opportunity":
        assert overrides["Account__c"] == "Opportunity.AccountId"


LWC = DEFAULT / "lwc" / "licenseExceptionStatus"


def test_the_status_component_reads_only_fields_the_package_declares():
    source = (LWC / "licenseExceptionStatus.js").read_text()
    imported = set(re.findall(rf"@salesforce/schema/{OBJECT}\.(\w+)", source))
    assert {"Governance_Status__c", "Missing_Fields__c", "Votes_Waiting__c", "Granted_Boundaries__c"} <= imported
    assert imported <= set(fields()) | STANDARD_FIELDS
    assert "@salesforce/apex" not in source and "fetch(" not in source  # LDS only: no Apex, no callout


def test_the_status_component_is_exposed_where_it_is_placed():
    bundle = parse(LWC / "licenseExceptionStatus.js-meta.xml")
    assert text(bundle, "isExposed") == "true"
    objects = {o.text for o in bundle.iter(f"{NS}object")}
    assert objects == {OBJECT, "Account", "Opportunity"}
    page = parse(DEFAULT / "flexipages" / "License_Exception_Request_Record_Page.flexipage-meta.xml")
    assert text(page, "sobjectType") == OBJECT and text(page, "type") == "RecordPage"
    names = {text(c, "componentName") for c in page.iter(f"{NS}componentInstance")}
    assert "c:licenseExceptionStatus" in names
    overrides = parse(OBJECT_DIR / f"{OBJECT}.object-meta.xml").findall(f"{NS}actionOverrides")
    assert [text(o, "content") for o in overrides] == ["License_Exception_Request_Record_Page"]


def test_the_component_tests_cover_every_state_and_stay_out_of_the_package():
    tests = (LWC / "__tests__" / "licenseExceptionStatus.test.js").read_text()
    for state in ("needs_info", "in_review", "approved", "denied", "expired", "revoked"):
        assert f"Governance_Status__c: '{state}'" in tests, state
    assert "**/__tests__/**" in (ROOT / ".forceignore").read_text().splitlines()


def test_the_outbound_message_sends_the_id_and_never_a_session():
    workflow = parse(DEFAULT / "workflows" / f"{OBJECT}.workflow-meta.xml")
    message = workflow.find(f"{NS}outboundMessages")
    assert message is not None and text(message, "fullName") == "License_Exception_Push"
    assert "Id" in {f.text for f in message.findall(f"{NS}fields")}
    assert text(message, "includeSessionId") == "false"
    assert text(message, "endpointUrl").endswith("/webhooks/salesforce/CONNECTION")  # filled in when packaged


def test_the_flow_pushes_on_create_and_on_a_change_of_any_field_the_connector_reads_but_not_writes():
    flow = parse(DEFAULT / "flows" / "License_Exception_Push.flow-meta.xml")
    action = flow.find(f"{NS}actionCalls")
    assert action is not None and text(action, "actionType") == "outboundMessage"
    assert text(action, "actionName") == f"{OBJECT}.License_Exception_Push"
    start = flow.find(f"{NS}start")
    assert start is not None and text(start, "object") == OBJECT
    assert (text(start, "recordTriggerType"), text(start, "triggerType")) == ("CreateAndUpdate", "RecordAfterSave")
    formula = text(start, "filterFormula")
    watched = set(re.findall(r"ISCHANGED\(\{!\$Record\.(\w+)\}\)", formula))
    assert "ISNEW()" in formula
    assert watched == read_fields() - {"CurrencyIsoCode"}  # multi-currency orgs only
    assert not watched & written_back()  # the connector's own write-back must not echo back as a push
    assert text(flow, "status") == "Active"
