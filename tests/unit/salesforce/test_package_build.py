"""The package as the connector deploys it: filled in for one connection, in the Metadata API's layout."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

import pytest

from adapters.salesforce.package_build import (
    INTEGRATION_USER_PLACEHOLDER,
    PUSH_URL_PLACEHOLDER,
    PackageError,
    Target,
    fill,
    metadata_files,
    metadata_zip,
    source_files,
    write_project,
)

NS = "{http://soap.sforce.com/2006/04/metadata}"
OBJECT = "License_Exception_Request__c"
TARGET = Target("https://lec.example.com/webhooks/salesforce/sf-prod?a=1&b=2", "integration@acme.example")


def manifest(files: dict[str, bytes]) -> dict[str, set[str]]:
    root = ET.fromstring(files["package.xml"])
    return {t.findtext(f"{NS}name") or "": {m.text or "" for m in t.findall(f"{NS}members")}
            for t in root.findall(f"{NS}types")}


def test_the_source_leaves_out_the_jest_tests_and_keeps_the_project_file():
    files = source_files()
    assert "sfdx-project.json" in files
    assert not any("__tests__" in name for name in files)
    assert any(name.endswith("lwc/licenseExceptionStatus/licenseExceptionStatus.js") for name in files)


def test_fill_puts_the_connections_push_url_and_user_into_the_outbound_message_only():
    files = source_files()
    filled = fill(files, TARGET)
    changed = {name for name in files if files[name] != filled[name]}
    assert changed == {f"force-app/main/default/workflows/{OBJECT}.workflow-meta.xml"}
    message = ET.fromstring(filled[changed.pop()]).find(f"{NS}outboundMessages")
    assert message is not None
    assert message.findtext(f"{NS}endpointUrl") == TARGET.push_url  # escaped in the XML, intact once parsed
    assert message.findtext(f"{NS}integrationUser") == TARGET.integration_user
    assert not any(PUSH_URL_PLACEHOLDER.encode() in c or INTEGRATION_USER_PLACEHOLDER.encode() in c
                   for c in filled.values())


def test_the_metadata_form_nests_fields_and_rules_in_the_object_and_lists_every_component():
    files = metadata_files(fill(source_files(), TARGET))
    obj = ET.fromstring(files[f"objects/{OBJECT}.object"])
    fields = [f.findtext(f"{NS}fullName") for f in obj.findall(f"{NS}fields")]
    assert "Governance_Status__c" in fields and len(fields) == len(set(fields)) >= 40
    assert [r.findtext(f"{NS}fullName") for r in obj.findall(f"{NS}validationRules")] == ["End_Follows_Start"]
    assert obj.findtext(f"{NS}label") == "License Exception Request"
    listed = manifest(files)
    assert listed["CustomObject"] == {OBJECT}
    assert {f"{OBJECT}.{name}" for name in fields} == listed["CustomField"]
    assert listed["LightningComponentBundle"] == {"licenseExceptionStatus"}
    assert listed["WorkflowOutboundMessage"] == {f"{OBJECT}.License_Exception_Push"}
    assert listed["Flow"] == {"License_Exception_Push"}
    assert "lwc/licenseExceptionStatus/licenseExceptionStatus.js-meta.xml" in files
    assert "flows/License_Exception_Push.flow" in files
    assert ET.fromstring(files["package.xml"]).findtext(f"{NS}version") == "62.0"


def test_the_zip_holds_the_metadata_form_at_its_root():
    archive = zipfile.ZipFile(io.BytesIO(metadata_zip(fill(source_files(), TARGET))))
    names = archive.namelist()
    assert "package.xml" in names and f"objects/{OBJECT}.object" in names
    assert not any(name.startswith(("force-app", "/")) or "__tests__" in name for name in names)


@pytest.mark.parametrize("name, content, problem", [
    ("force-app/main/default/classes/Evil.cls", b"public class Evil {}", "not a kind of metadata"),
    ("force-app/main/default/flows/Broken.flow-meta.xml", b"<Flow><unclosed></Flow>", "not well-formed"),
    ("force-app/main/default/flows/Wrong.flow-meta.xml",
     b'<Layout xmlns="http://soap.sforce.com/2006/04/metadata"/>', "expected a Flow"),
    (f"force-app/main/default/objects/{OBJECT}/recordTypes/X.recordType-meta.xml", b"<x/>", "object metadata"),
])
def test_anything_it_does_not_understand_is_refused_by_name(name, content, problem):
    files = {**source_files(), name: content}
    with pytest.raises(PackageError, match=problem) as caught:
        metadata_files(files)
    assert name.removeprefix("force-app/main/default/") in str(caught.value)


def test_write_project_writes_a_dx_project_an_admin_can_deploy(tmp_path):
    written = write_project(fill(source_files(), TARGET), tmp_path / "out")
    assert (tmp_path / "out" / "sfdx-project.json").is_file()
    assert len(written) == len(source_files())
