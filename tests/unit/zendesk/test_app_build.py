"""The Zendesk app as the connector uploads it: filled in for one connector and checked as Zendesk checks it."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from adapters.zendesk.app_build import AppError, app_files, app_zip, fill, problems, read_zip


def manifest(files: dict[str, bytes]) -> dict:
    return json.loads(files["manifest.json"])


def test_the_shipped_app_passes_and_fills_in_the_connectors_host():
    files = fill(app_files(), "https://lec.example.com:8443/prefix")
    assert problems(files) == []
    assert manifest(files)["domainWhitelist"] == ["lec.example.com"]
    assert {"ticket_sidebar", "new_ticket_sidebar"} <= set(manifest(files)["location"]["support"])
    names = zipfile.ZipFile(io.BytesIO(app_zip(files))).namelist()
    assert {"manifest.json", "assets/iframe.html", "assets/main.js", "assets/main.css",
            "translations/en.json"} <= set(names)
    assert read_zip(app_zip(files)) == files


def test_the_token_is_the_one_secure_setting():
    declared = {p["name"]: p.get("secure", False) for p in manifest(app_files())["parameters"]}
    assert declared == {"connector_url": False, "connection": False, "token": True}


def test_the_page_loads_nothing_but_zendesks_sdk_and_its_own_assets():
    html = app_files()["assets/iframe.html"].decode()
    external = [part.split('"')[0] for part in html.split('src="')[1:] if part.startswith("http")]
    assert external == ["https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"]
    source = app_files()["assets/main.js"].decode()
    assert ".innerHTML" not in source and "{{setting.token}}" in source and "secure: true" in source


def broken(change) -> dict[str, bytes]:
    files = fill(app_files(), "https://lec.example.com")
    data = manifest(files)
    change(files, data)
    files["manifest.json"] = json.dumps(data).encode()
    return files


@pytest.mark.parametrize("change, problem", [
    (lambda f, m: m.pop("frameworkVersion"), "manifest.json lacks frameworkVersion"),
    (lambda f, m: m["location"]["support"].pop("new_ticket_sidebar"), "support.new_ticket_sidebar is missing"),
    (lambda f, m: f.pop("assets/main.js"), "assets/iframe.html references main.js, which is not in the app"),
    (lambda f, m: m["location"]["support"].update({"ticket_sidebar": {"url": "assets/nope.html"}}),
     "assets/nope.html (a location's page) is missing"),
    (lambda f, m: m["parameters"][2].pop("secure"), "parameter token must be secure"),
    (lambda f, m: m.pop("domainWhitelist"), "secure parameters need a domainWhitelist"),
    (lambda f, m: f.pop("translations/en.json"), "translations/en.json (the default locale) is missing"),
])
def test_what_zendesk_would_refuse_is_named(change, problem):
    files = broken(change)
    assert problem in " | ".join(problems(files))
    with pytest.raises(AppError):
        app_zip(files)


def test_a_manifest_that_is_not_json_is_named():
    assert problems({"manifest.json": b"{nope"})[0].startswith("manifest.json is not valid JSON")
