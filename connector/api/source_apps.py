"""What apps inside a source read (the Zendesk ticket sidebar): the status of one ticket, and the form that flags
a ticket as a license exception. Role ``source_app`` only, and a token reads only the connection it is named for
(``source-app:<connection>``), so an app installed in one Zendesk account learns nothing of another's tickets."""

from __future__ import annotations

from typing import Any

from flask import abort
from marshmallow import Schema, fields

from connector import connections
from connector.api.blueprint import make_blueprint
from connector.auth import SOURCE_APP, AuthError, current_principal, requires, source_app_connection
from connector.models import Connection, utcnow
from connector.source_status import flag_form, record_status

blp = make_blueprint("source_apps", __name__, "What an app inside a source reads (the Zendesk ticket sidebar).")


class FormFieldSchema(Schema):
    name = fields.String(metadata={"description": "The governance name of the field, e.g. category."})
    field_id = fields.Integer(metadata={"description": "The Zendesk ticket field id (custom_field_<id>)."})
    label = fields.String()
    type = fields.String(metadata={"description": "Zendesk's field type: text, textarea, integer, decimal, date, "
                                                  "tagger, multiselect."})
    options = fields.List(fields.Dict(), metadata={"description": "For tagger/multiselect: {name, value} pairs."})


class FlagFormSchema(Schema):
    tag = fields.String(metadata={"description": "The tag that selects a ticket for the connector."})
    form = fields.List(fields.Nested(FormFieldSchema))


def _connection(name: str) -> Connection:
    """The connection, if the calling app's token is for it (403 otherwise, 404 when it does not exist)."""
    if source_app_connection(current_principal()) != name:
        raise AuthError(403, "other_connection", f"This {SOURCE_APP} token reads connection "
                        f"'{source_app_connection(current_principal())}', not '{name}'.",
                        {"connection": name})
    conn = connections.find(name)
    if conn is None or conn.kind != "zendesk":
        abort(404, f"No Zendesk connection named '{name}'.")
    return conn


@blp.route("/sources/zendesk/<name>/tickets/<int(min=1, max=9223372036854775807):ticket_id>/status")
@blp.response(200, description="Where the ticket's exception stands (flagged: true), or the form that flags it "
              "(flagged: false, tag, form). Fields to fill come as ticket field ids and labels; no internal note, "
              "no vote rationale.")
@requires(SOURCE_APP)
def ticket_status(name: str, ticket_id: int) -> dict[str, Any]:
    return record_status(_connection(name), str(ticket_id), utcnow().date())


@blp.route("/sources/zendesk/<name>/flag-form")
@blp.response(200, FlagFormSchema, description="The ticket fields to fill and the tag to add to flag a ticket.")
@requires(SOURCE_APP)
def ticket_flag_form(name: str) -> dict[str, Any]:
    return flag_form(_connection(name))
