"""The sandboxes' pages for people: a Salesforce record or a Zendesk ticket as simple HTML.

The connector links each request to its source (``Open in Salesforce``, ``Open in Zendesk``): in the demo those
links lead to the loopback sandboxes, which answer them with the record's or ticket's fields as a page a browser
shows, instead of an API error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from werkzeug.wrappers import Response

STYLE = ("body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1b1b}"
         "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .6rem;"
         "border-bottom:1px solid #ddd;vertical-align:top}th{width:30%;font-weight:600}"
         ".vendor{color:#555;font-size:.9rem}.body{white-space:pre-wrap}")


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def page(vendor: str, title: str, fields: Mapping[str, Any],
         sections: Iterable[tuple[str, Iterable[str]]] = ()) -> Response:
    """A page listing ``fields`` (empty ones left out), then titled sections of paragraphs."""
    rows = "".join(f"<tr><th scope=\"row\">{escape(str(name))}</th><td>{escape(_text(value))}</td></tr>"
                   for name, value in fields.items() if value not in (None, "", [], {}))
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)} · "
             f"{escape(vendor)} sandbox</title><style>{STYLE}</style></head><body><main>",
             f"<p class=\"vendor\">{escape(vendor)} sandbox (loopback)</p><h1>{escape(title)}</h1>",
             f"<table>{rows}</table>"]
    for heading, paragraphs in sections:
        parts.append(f"<h2>{escape(heading)}</h2>")
        parts.extend(f"<p class=\"body\">{escape(p)}</p>" for p in paragraphs)
    parts.append("</main></body></html>")
    return Response("".join(parts), content_type="text/html; charset=utf-8")


def not_found(vendor: str, what: str) -> Response:
    """The page for a record or ticket the sandbox does not hold."""
    response = page(vendor, "Not found", {"Looked for": what,
                                          "Found": "nothing (a sandbox forgets everything when it stops)"})
    response.status_code = 404
    return response
