"""Health: no authentication, so load balancers can probe it."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from sqlalchemy import text

from connector.api.blueprint import make_blueprint
from connector.db import db

blp = make_blueprint("meta", __name__, "Service health.")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "degraded"]})
    database = fields.String(required=True, metadata={"description": "`ok`, or the driver error's name"})


@blp.route("/health")
@blp.response(200, HealthSchema, description="`{status: ok, database: ok}`.")
@blp.alt_response(503, schema=HealthSchema, description="The database is unreachable: `{status: degraded, "
                                                        "database: <error name>}`.")
def health() -> tuple[dict[str, Any], int]:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not healthy", never a 500
        return {"status": "degraded", "database": type(exc).__name__}, 503
    return {"status": "ok", "database": "ok"}, 200
