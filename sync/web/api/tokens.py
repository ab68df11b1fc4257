"""``/api/tokens``: create (the value is shown once), list and revoke API tokens. Admin only."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.access import tokens
from sync.access.roles import ROLES
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.context import principal, store
from sync.web.api.schemas import list_schema

blp = Blueprint("tokens", __name__, description="API tokens and their roles")


class TokenSchema(ma.Schema):
    """A token as listed: never its value."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    prefix = ma.fields.String(required=True, metadata={"description": "the token's public first characters"})
    state = ma.fields.String(required=True, metadata={"description": "active, expired or revoked"})
    created_by = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(allow_none=True)
    last_used_at = ma.fields.AwareDateTime(allow_none=True)
    revoked_at = ma.fields.AwareDateTime(allow_none=True)
    brands = ma.fields.List(ma.fields.String(), allow_none=True,
                            metadata={"description": "the brands whose data it sees (null: every brand)"})


class NewTokenSchema(ma.Schema):
    """What a new token is to be."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))
    expires_at = ma.fields.AwareDateTime(load_default=None, allow_none=True,
                                         metadata={"description": "when it stops working (none: never)"})
    brands = ma.fields.List(ma.fields.String(), load_default=None, allow_none=True,
                            metadata={"description": "limit it to these brands' data (none: every brand)"})


class CreatedTokenSchema(TokenSchema):
    """A token just created, with its value: shown this once."""

    token = ma.fields.String(required=True, metadata={"description": "the token; it is not shown again"})


TokenList = list_schema(TokenSchema, "TokenList")


@blp.route("/tokens")
class Tokens(MethodView):
    """Every token."""

    @requires("admin")
    @blp.response(200, TokenList)
    def get(self) -> Any:
        """List tokens, newest first."""
        return {"items": tokens.listed(store())}

    @requires("admin", brand_scoped=True)  # a limited token gives only brands it sees (sync.access.tokens)
    @blp.arguments(NewTokenSchema)
    @blp.response(201, CreatedTokenSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, new: dict) -> Any:
        """Create a token; its value is in this answer only."""
        described, value = tokens.create(store(), principal(), new["name"], new["role"], new["expires_at"],
                                         new["brands"])
        return {**described, "token": value}


@blp.route("/tokens/<id:token_id>")
class Token(MethodView):
    """One token."""

    @requires("admin")
    @blp.response(200, TokenSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, token_id: int) -> Any:
        """Revoke a token: it stops working at once (the record stays, for the audit log)."""
        return tokens.revoke(store(), principal(), token_id)
