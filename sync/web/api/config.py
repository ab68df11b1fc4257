"""``/api/config``: configuration documents as revisions — read, edit (validated), history, diff, roll back.

Every route calls ``sync.config.revisions`` (the service ``lifesync config …`` uses too). An edit
that would not load is a 422 whose ``errors.issues`` lists each problem with file, line and key,
as ``lifesync config check`` prints them; an edit based on a revision that is no longer the
latest is a 409. Edits are audit-logged with the token's name in the transaction that stores them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.config.revisions import Revisions
from sync.errors import ConfigError, Invalid
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.context import principal, settings, store
from sync.web.api.schemas import list_schema, row_id

blp = Blueprint("config", __name__, description="Configuration documents and their revisions")


def revisions() -> Revisions:
    """The revisions service of this installation."""
    return Revisions(store(), settings().config_dir)


def refused(exc: ConfigError) -> Invalid:
    """A ConfigError as a 422 listing every issue (file, line, key path, message)."""
    return Invalid("the configuration would not load with this edit; nothing was stored",
                   {"issues": [{"file": i.file, "line": i.line, "path": i.path, "message": i.message}
                               for i in exc.issues]})


class DocumentSchema(ma.Schema):
    """A document's active text."""

    name = ma.fields.String(required=True, metadata={"description": "lifecycle.yaml, conversions.yaml or "
                                                                     "mappings/<name>.yaml"})
    origin = ma.fields.String(required=True, metadata={"description": "revision, file, bundled or none"})
    revision_id = ma.fields.Integer(allow_none=True, metadata={"description": "latest revision (none: the file)"})
    sha256 = ma.fields.String(required=True)
    path = ma.fields.String(allow_none=True, metadata={"description": "the baseline file"})
    text = ma.fields.String(required=True)


class DocumentSummarySchema(DocumentSchema):
    """A document as listed (without its text)."""

    class Meta:
        exclude = ("text",)


class RevisionSchema(ma.Schema):
    """One stored edit."""

    id = ma.fields.Integer(required=True)
    document = ma.fields.String(required=True)
    seq = ma.fields.Integer(required=True)
    parent_id = ma.fields.Integer(allow_none=True, metadata={"description": "the revision it replaced (none: "
                                                                           "the baseline file)"})
    sha256 = ma.fields.String(required=True)
    author = ma.fields.String(required=True)
    comment = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class RevisionTextSchema(RevisionSchema):
    """One stored edit with its whole text."""

    text = ma.fields.String(required=True)


class EditSchema(ma.Schema):
    """A new text for a document."""

    text = ma.fields.String(required=True, validate=ma.validate.Length(max=1_000_000))
    base_revision = ma.fields.Integer(required=True, allow_none=True, metadata={
        "description": "the revision_id the edit was made from (null: the baseline file); a later one is a 409"})
    comment = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class RollbackSchema(ma.Schema):
    """Which revision to make current again."""

    revision = ma.fields.Integer(required=True, allow_none=True,
                                 metadata={"description": "a revision id of this document (null: the baseline file)"})
    base_revision = ma.fields.Integer(required=True, allow_none=True)
    comment = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class EditResultSchema(ma.Schema):
    """What an edit stored (``revision`` null: the text was already active)."""

    revision = ma.fields.Nested(RevisionSchema, allow_none=True, required=True)


class DiffArgs(ma.Schema):
    """Two revisions of one document."""

    to = row_id(required=True, data_key="to")
    from_ = row_id(load_default=None, data_key="from",
                              metadata={"description": "omitted: the baseline file"})


DiffSchema = ma.Schema.from_dict({"diff": ma.fields.String(required=True)}, name="Diff")
DocumentList = list_schema(DocumentSummarySchema, "DocumentList")
RevisionList = list_schema(RevisionSchema, "RevisionList")


def _saved(edit: Callable[[], Any]) -> dict:
    """``{"revision": what the edit stored}``, or the 422 of an edit that would not load."""
    try:
        return {"revision": edit()}
    except ConfigError as exc:
        raise refused(exc) from None


def _document(found: Any) -> dict:
    return {"name": found.name, "origin": found.origin, "revision_id": found.revision_id, "sha256": found.sha256,
            "path": found.path, "text": found.text}


@blp.route("/config/documents")
class Documents(MethodView):
    """Every configuration document."""

    @requires("viewer")
    @blp.response(200, DocumentList)
    def get(self) -> Any:
        """Documents, with where each one's active text comes from."""
        return {"items": [_document(d) for d in revisions().list_documents()]}


@blp.route("/config/documents/<path:name>")
class Document(MethodView):
    """One document."""

    @requires("viewer")
    @blp.response(200, DocumentSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, name: str) -> Any:
        """The document's active text and its revision."""
        return _document(revisions().read(name))

    @requires("operator")
    @blp.arguments(EditSchema)
    @blp.response(200, EditResultSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def put(self, edit: dict, name: str) -> Any:
        """Store a new text as a revision, after validating the whole configuration with it."""
        return _saved(lambda: revisions().propose(name, edit["text"], principal(), edit["comment"],
                                                  edit["base_revision"]))


@blp.route("/config/documents/<path:name>/revisions")
class History(MethodView):
    """A document's revisions."""

    @requires("viewer")
    @blp.response(200, RevisionList)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, name: str) -> Any:
        """Revisions, newest first."""
        return {"items": revisions().history(name)}


@blp.route("/config/documents/<path:name>/rollback")
class Rollback(MethodView):
    """Make an earlier revision (or the baseline file) current again."""

    @requires("operator")
    @blp.arguments(RollbackSchema)
    @blp.response(200, EditResultSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body: dict, name: str) -> Any:
        """A new revision equal to the chosen one, validated like any edit."""
        return _saved(lambda: revisions().rollback(name, body["revision"], principal(), body["comment"],
                                                   body["base_revision"]))


@blp.route("/config/revisions/<id:revision_id>")
class OneRevision(MethodView):
    """One revision."""

    @requires("viewer")
    @blp.response(200, RevisionTextSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, revision_id: int) -> Any:
        """A revision with its whole text."""
        return revisions().revision(revision_id)


@blp.route("/config/diff")
class Diff(MethodView):
    """What changed between two revisions of a document."""

    @requires("viewer")
    @blp.arguments(DiffArgs, location="query")
    @blp.response(200, DiffSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, args: dict) -> Any:
        """A unified diff from ``from`` (omitted: the baseline file) to ``to``."""
        return {"diff": revisions().diff(args["from_"], args["to"])}
