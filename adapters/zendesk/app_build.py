"""The Zendesk app shipped with the connector (``adapters/zendesk/app``): filled in for one connector, checked the
way Zendesk's app builder checks an upload, and zipped for the Apps API (``manifest.json``, ``assets/`` and
``translations/`` at the top of the zip).

The one thing that differs between installations is the connector's host: ZAF sends secure settings (the status
token) only to hosts in the manifest's ``domainWhitelist``, so the manifest is filled in with it before upload.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

APP_ROOT = Path(str(resources.files("adapters") / "zendesk" / "app"))
HOST_PLACEHOLDER = "connector.example.invalid"
REQUIRED_KEYS = ("name", "author", "defaultLocale", "location", "frameworkVersion")
LOCATIONS = ("ticket_sidebar", "new_ticket_sidebar")
PARAMETERS = {"connector_url": False, "connection": False, "token": True}  # name -> must be secure
_ASSET_REFERENCE = re.compile(r"""(?:src|href)=["']([^"'#?]+)["']""")


class AppError(ValueError):
    """The app would not pass Zendesk's checks; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Installation:
    """What an installation of the app is configured with (``token`` goes into a secure setting)."""

    connector_url: str
    connection: str
    token: str

    def settings(self) -> dict[str, str]:
        return {"name": "License Exception Connector", "connector_url": self.connector_url,
                "connection": self.connection, "token": self.token}


def app_files(root: Path = APP_ROOT) -> dict[str, bytes]:
    """The app's files by relative POSIX path."""
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts}


def fill(files: Mapping[str, bytes], connector_url: str) -> dict[str, bytes]:
    """The app with the connector's host in the manifest (where secure settings may be sent) and as its URL."""
    host = urlsplit(connector_url).hostname
    if not host:
        raise AppError([f"connector URL {connector_url!r} has no host"])
    manifest = json.loads(files["manifest.json"])
    manifest["domainWhitelist"] = [host]
    manifest["author"] = {**manifest.get("author", {}), "url": connector_url}
    return {**files, "manifest.json": (json.dumps(manifest, indent=2) + "\n").encode()}


def problems(files: Mapping[str, bytes]) -> list[str]:
    """What Zendesk would refuse in the app: the manifest's required keys, its locations and parameters, the
    assets its pages reference, and the translation of the default locale."""
    try:
        manifest = json.loads(files["manifest.json"])
    except KeyError:
        return ["manifest.json is missing from the top of the app"]
    except ValueError as exc:
        return [f"manifest.json is not valid JSON: {exc}"]
    found = [f"manifest.json lacks {key}" for key in REQUIRED_KEYS if key not in manifest]
    if str(manifest.get("frameworkVersion")) != "2.0":
        found.append(f"frameworkVersion must be 2.0, not {manifest.get('frameworkVersion')!r}")
    found += _location_problems(files, manifest)
    found += _parameter_problems(manifest)
    locale = manifest.get("defaultLocale", "en")
    try:
        translation = json.loads(files[f"translations/{locale}.json"])
        if not (translation.get("app") or {}).get("name"):
            found.append(f"translations/{locale}.json lacks app.name")
    except KeyError:
        found.append(f"translations/{locale}.json (the default locale) is missing")
    except ValueError as exc:
        found.append(f"translations/{locale}.json is not valid JSON: {exc}")
    return found


def _location_problems(files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> list[str]:
    support = (manifest.get("location") or {}).get("support") or {}
    found = [f"location support.{name} is missing" for name in LOCATIONS if name not in support]
    for name, where in support.items():
        url = where.get("url") if isinstance(where, dict) else where
        if not isinstance(url, str) or not url:
            found.append(f"location support.{name} has no url")
        elif not url.startswith(("http://", "https://")):
            found += _page_problems(files, url)
    return found


def _page_problems(files: Mapping[str, bytes], page: str) -> list[str]:
    if page not in files:
        return [f"{page} (a location's page) is missing"]
    base = PurePosixPath(page).parent
    html = files[page].decode("utf-8", "replace")
    missing = []
    for reference in _ASSET_REFERENCE.findall(html):
        if reference.startswith(("http://", "https://", "//", "data:")):
            continue
        if (base / reference).as_posix() not in files:
            missing.append(f"{page} references {reference}, which is not in the app")
    return missing


def _parameter_problems(manifest: Mapping[str, Any]) -> list[str]:
    declared = {p.get("name"): p for p in manifest.get("parameters") or () if isinstance(p, dict)}
    found = []
    for name, secure in PARAMETERS.items():
        parameter = declared.get(name)
        if parameter is None:
            found.append(f"parameter {name} is missing")
        elif bool(parameter.get("secure")) != secure:
            found.append(f"parameter {name} must {'' if secure else 'not '}be secure")
    if any(p.get("secure") for p in declared.values()) and not manifest.get("domainWhitelist"):
        found.append("secure parameters need a domainWhitelist naming the hosts they may be sent to")
    return found


def app_zip(files: Mapping[str, bytes]) -> bytes:
    """The upload: the app's files at the top of the zip; refused (``AppError``) if Zendesk would refuse it."""
    found = problems(files)
    if found:
        raise AppError(found)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            archive.writestr(name, content)
    return buffer.getvalue()


def read_zip(archive: bytes) -> dict[str, bytes]:
    """An uploaded app's files (what the sandbox checks)."""
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        return {name: zipped.read(name) for name in zipped.namelist() if not name.endswith("/")}


__all__ = ["APP_ROOT", "AppError", "Installation", "app_files", "app_zip", "fill", "problems", "read_zip"]
