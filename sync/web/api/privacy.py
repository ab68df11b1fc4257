"""``POST /api/contacts/<id>/forget`` (erase a person), ``GET /api/privacy/erasures`` (the erasure log) and
``POST /api/privacy/purge`` (the retention purge now), ``POST /api/privacy/suppressions/lift`` (a forgotten
identity taken off the suppression list): admin only, installation-wide.

The same service functions as ``lifesync contacts forget``, ``lifesync privacy purge`` and ``lifesync
privacy unsuppress`` (``sync.privacy.erasure.forget``, ``sync.privacy.retention.purge``,
``sync.privacy.suppression.lift``).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.errors import Invalid
from sync.privacy.erasure import erasures, forget
from sync.privacy.retention import purge
from sync.privacy.suppression import lift
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.context import config, principal, settings, store
from sync.web.api.schemas import PageArgs, decode_cursor, encode_cursor, page_schema

blp = Blueprint("privacy", __name__, description="Erase a person; purge what is past its retention")

F = ma.fields


class ForgetArgs(ma.Schema):
    """How far the erasure goes."""

    upstream = F.Boolean(load_default=False, metadata={
        "description": "also delete the person in the CRMs holding them (HubSpot GDPR delete, Salesforce delete)"})


class ErasureSchema(ma.Schema):
    """One erasure: who, when, rows deleted per table, upstream results — never a personal value."""

    id = F.Integer(required=True)
    contact_id = F.Integer(required=True, metadata={"description": "the erased contact's former id"})
    actor = F.String(required=True)
    created_at = F.String(allow_none=True, required=True)
    counts = F.Dict(required=True, metadata={
        "description": "rows deleted or redacted per table, `suppressions` recorded, and `audiences`: "
                       "`<segment>/<destination>` → removed, or the state still held and why"})
    upstream = F.Dict(required=True, metadata={"description": "system → {status: deleted|failed|none, detail}"})


class PurgeArgs(ma.Schema):
    dry_run = F.Boolean(load_default=False, metadata={"description": "count what is past its window; change nothing"})


class PurgeSchema(ma.Schema):
    dry_run = F.Boolean(required=True)
    redacted = F.Dict(keys=F.String(), values=F.Integer(), required=True, metadata={
        "description": "rows redacted (or, dry, to redact) per kind"})
    days = F.Dict(keys=F.String(), values=F.Integer(), required=True, metadata={
        "description": "each kind's retention days (0: kept for ever)"})


@blp.route("/contacts/<id:contact_id>/forget")
class ContactForget(MethodView):
    """Erasure of one person."""

    @requires("admin")  # installation-wide: every brand's data about the person goes
    @blp.arguments(ForgetArgs, location="json", required=False)
    @blp.response(200, ErasureSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, args: dict, contact_id: int) -> Any:
        """Delete everything held about the person, keep a salted suppression hash, remove them from audiences.

        Audited (who, which contact, the counts). With `upstream`, the CRMs are asked to delete
        them too; a failure there is reported in `upstream` and does not undo the erasure.
        """
        return forget(store(), config(), settings(), contact_id, principal(), upstream=args.get("upstream", False))


@blp.route("/privacy/erasures")
class Erasures(MethodView):
    """The erasure log."""

    @requires("admin")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(ErasureSchema, "ErasurePage"))
    def get(self, args: dict) -> Any:
        """Erasures, newest first."""
        before_id = decode_cursor(args["cursor"])
        if before_id is not None and not isinstance(before_id, int):
            raise Invalid("the cursor is not one this list gave", {"cursor": "the `next` of a previous page"})
        found = erasures(store(), args["limit"] + 1, before_id)
        more = len(found) > args["limit"]
        return {"items": found[:args["limit"]], "next": encode_cursor(found[args["limit"] - 1]["id"]) if more else None}


@blp.route("/privacy/purge")
class Purge(MethodView):
    """The retention purge."""

    @requires("admin")
    @blp.arguments(PurgeArgs, location="json", required=False)
    @blp.response(200, PurgeSchema)
    def post(self, args: dict) -> Any:
        """Redact raw webhook bodies, closed dead letters and delivery answers past their retention days (audited)."""
        dry_run = args.get("dry_run", False)
        return purge(store(), settings(), dry_run=dry_run, actor=None if dry_run else principal())


class LiftArgs(ma.Schema):
    identity = F.String(required=True, validate=ma.validate.Length(min=3, max=300), metadata={
        "description": "the identity to take off the suppression list, `kind:value` (e.g. `email:ana@example.com`)"})


class LiftSchema(ma.Schema):
    lifted = F.String(required=True, metadata={"description": "the kind of the identity lifted (never its value)"})


@blp.route("/privacy/suppressions/lift")
class LiftSuppression(MethodView):
    """A forgotten identity taken off the suppression list."""

    @requires("admin")
    @blp.arguments(LiftArgs, location="json")
    @blp.response(200, LiftSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self, args: dict) -> Any:
        """Records naming the identity are taken again (the person came back and asked to be known); audited with
        the identity's kind only.
        """
        try:
            return lift(store(), args["identity"], principal())
        except ValueError as exc:
            raise Invalid(str(exc), {"identity": "kind:value, e.g. email:ana@example.com"}) from None
