"""Query arguments: a route's query schema says every argument it takes, and the others are refused."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser


class StrictQueryParser(FlaskParser):
    """Query arguments a route does not take are refused (422 naming them), not ignored: ``?stauts=dead`` is a
    typo, not a request for every row, and the document lists each argument an operation takes."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE, "querystring": RAISE}


class ConnectorBlueprint(Blueprint):
    """The API's blueprints: flask-smorest's, parsing arguments with ``StrictQueryParser``."""

    ARGUMENTS_PARSER = StrictQueryParser()
