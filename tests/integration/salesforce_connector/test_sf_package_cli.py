"""``connector salesforce package``: the filled-in DX project for admins who deploy with their own tools."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from integration.salesforce_connector.mock_org import create_connection

NS = "{http://soap.sforce.com/2006/04/metadata}"
WORKFLOW = "force-app/main/default/workflows/License_Exception_Request__c.workflow-meta.xml"


def message(out):
    return ET.parse(out / WORKFLOW).getroot().find(f"{NS}outboundMessages")


def test_writes_the_project_filled_in_with_the_given_url_and_user(app, tmp_path):
    out = tmp_path / "pkg"
    result = app.test_cli_runner().invoke(args=["connector", "salesforce", "package", "--out", str(out),
                                                "--push-url", "https://lec.example.com/webhooks/salesforce/x",
                                                "--integration-user", "int@acme.example"])
    assert result.exit_code == 0, result.output
    assert "sf project deploy start" in result.output
    assert (out / "sfdx-project.json").is_file() and not list(out.rglob("__tests__"))
    assert message(out).findtext(f"{NS}endpointUrl") == "https://lec.example.com/webhooks/salesforce/x"
    assert message(out).findtext(f"{NS}integrationUser") == "int@acme.example"


def test_a_connection_gives_its_webhook_and_its_jwt_user(app, client, token_for, tmp_path):
    create_connection(client, token_for("admin"), name="sf-jwt", auth="jwt", username="jwt@acme.example",
                      private_key="-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----", client_secret=None)
    out = tmp_path / "pkg"
    result = app.test_cli_runner().invoke(args=["connector", "salesforce", "package", "--out", str(out),
                                                "--connection", "sf-jwt"])
    assert result.exit_code == 0, result.output
    assert message(out).findtext(f"{NS}endpointUrl") == "http://connector.test/webhooks/salesforce/sf-jwt"
    assert message(out).findtext(f"{NS}integrationUser") == "jwt@acme.example"


def test_refuses_without_a_user_or_into_a_folder_with_files(app, client, token_for, tmp_path):
    runner = app.test_cli_runner()
    create_connection(client, token_for("admin"), name="sf")
    unknown_user = runner.invoke(args=["connector", "salesforce", "package", "--out", str(tmp_path / "a"),
                                       "--connection", "sf"])
    assert unknown_user.exit_code == 2 and "--integration-user" in unknown_user.output
    missing = runner.invoke(args=["connector", "salesforce", "package", "--out", str(tmp_path / "b"),
                                  "--connection", "nope"])
    assert missing.exit_code == 2 and "No Salesforce connection named 'nope'" in missing.output
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("mine")
    busy = runner.invoke(args=["connector", "salesforce", "package", "--out", str(tmp_path / "c"),
                               "--push-url", "https://x.example/h", "--integration-user", "u@x.example"])
    assert busy.exit_code == 2 and "not empty" in busy.output
    assert (tmp_path / "c" / "keep.txt").read_text() == "mine"
