"""API tokens (admin): list them, issue one (shown once), revoke one. A token's roles are fixed when it is issued."""

from __future__ import annotations

from typing import Any

from flask import abort
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from connector.api.blueprint import make_blueprint
from connector.api.pagination import PageArgs, decode_cursor, page
from connector.api.schemas import StrictBoolean
from connector.auth import (
    DEFAULT_TOKEN_DAYS,
    MAX_PRINCIPAL_NAME,
    MAX_TOKEN_DAYS,
    TOKEN_ROLES,
    current_principal,
    issue_token,
    requires,
    revoke_token,
    token_view,
)
from connector.db import db
from connector.governance.policy import COMMITTEE_ROLES
from connector.models import ApiToken, Principal, utcnow

blp = make_blueprint("tokens", __name__, "API tokens of principals: issue, list, revoke (admin).", "/tokens")
STATUSES = ("active", "expired", "revoked")


def _when(description: str) -> fields.String:
    return fields.String(allow_none=True, metadata={"format": "date-time", "description": description})


class TokenSchema(Schema):
    """A token as anyone may see it: never the token itself nor its hash."""

    id = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"description": "the principal holding the token"})
    role = fields.String(required=True, metadata={"enum": list(TOKEN_ROLES)})
    committee_roles = fields.List(fields.String(), required=True)
    prefix = fields.String(required=True, metadata={"description": "the token's first 10 characters, to tell "
                                                                   "tokens apart"})
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    created_at = _when("when it was issued")
    expires_at = _when("null: never expires")
    last_used_at = _when("last authenticated request, to the minute")
    revoked_at = _when("null: not revoked")
    revoked_by = fields.String(allow_none=True)


class IssuedTokenSchema(TokenSchema):
    token = fields.String(required=True, metadata={"description": "the token; shown in this answer only"})


class TokenPageSchema(Schema):
    items = fields.List(fields.Nested(TokenSchema), required=True)
    next = fields.String(allow_none=True, metadata={"description": "cursor of the next page; null on the last"})


class TokenListArgs(PageArgs):
    name = fields.String(metadata={"description": "only this principal's tokens"})
    status = fields.String(validate=validate.OneOf(STATUSES))


class TokenCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_PRINCIPAL_NAME),
                         metadata={"description": "principal (a person or a system); created if new"})
    role = fields.String(required=True, validate=validate.OneOf(TOKEN_ROLES))
    committee_roles = fields.List(fields.String(validate=validate.OneOf(COMMITTEE_ROLES)), load_default=list,
                                  metadata={"description": "reviewers only"})
    expires_in_days = fields.Integer(load_default=DEFAULT_TOKEN_DAYS, strict=True,
                                     validate=validate.Range(min=0, max=MAX_TOKEN_DAYS),
                                     metadata={"description": "0: the token never expires"})
    replace = StrictBoolean(load_default=False, metadata={
        "description": "revoke the principal's live tokens in the same transaction; needed to issue a token "
                       "with other roles than the principal holds"})


def _status_filter(status: str) -> Any:
    now = utcnow()
    live = or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now)
    if status == "revoked":
        return ApiToken.revoked_at.is_not(None)
    if status == "expired":
        return ApiToken.revoked_at.is_(None) & ~live
    return ApiToken.revoked_at.is_(None) & live


@blp.route("")
@blp.arguments(TokenListArgs, location="query")
@blp.response(200, TokenPageSchema, description="Oldest first, revoked and expired ones included.")
@requires("admin")
def list_tokens(args: dict[str, Any]) -> dict[str, Any]:
    query = select(ApiToken).options(joinedload(ApiToken.principal)).order_by(ApiToken.id)
    if args.get("name"):
        query = query.join(Principal).where(Principal.name == args["name"])
    if args.get("status"):
        query = query.where(_status_filter(args["status"]))
    after = decode_cursor(args.get("after"))
    if after is not None:
        query = query.where(ApiToken.id > after)
    result = page(list(db.session.scalars(query.limit(args["limit"] + 1))), args["limit"], lambda t: t.id)
    result["items"] = [token_view(t) for t in result["items"]]
    return result


@blp.route("", methods=["POST"])
@blp.arguments(TokenCreateSchema)
@blp.response(201, IssuedTokenSchema, description="The new token, shown this once (stored hashed).")
@blp.alt_response(409, description="`token_roles_differ`: the principal holds other roles; send "
                                   "`\"replace\": true` to revoke its tokens and issue this one.")
@requires("admin")
def create(body: dict[str, Any]) -> dict[str, Any]:
    issued = issue_token(body["name"], body["role"], body["committee_roles"], actor=current_principal().name,
                         expires_in_days=body["expires_in_days"], replace=body["replace"])
    return {**token_view(issued.row), "token": issued.secret}


@blp.route("/<key:token_id>", methods=["DELETE"])
@blp.response(200, TokenSchema, description="The token, revoked (revoking a revoked token changes nothing).")
@blp.alt_response(404, description="No token has this id.")
@requires("admin")
def revoke(token_id: int) -> dict[str, Any]:
    row = revoke_token(token_id, current_principal().name)
    if row is None:
        abort(404, f"No token has the id {token_id}.")
    return token_view(row)
