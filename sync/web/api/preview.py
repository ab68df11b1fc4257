"""``POST /api/mappings/preview`` and ``POST /api/config/validate``: an edit's effect and issues before it is saved.

A preview runs the real pipeline (``sync.ingest.preview``) on one record — pasted, or the last
one a connection delivered for a contact (``sync.ingest.samples``) — with the active
configuration, or with the configuration an unsaved document text would make active
(``Revisions.trial``: validated exactly as saving it would be). Nothing is written.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.errors import ConfigError, Invalid
from sync.ingest.preview import preview_effect
from sync.ingest.samples import last_record
from sync.outbox.effects import Effects
from sync.reconcile.brands import record_namespace
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.brand_access import scoped_brand
from sync.web.api.config import refused, revisions
from sync.web.api.context import config, settings, store
from sync.web.api.schemas import row_id

blp = Blueprint("preview", __name__, description="Previews and validation of unsaved configuration")


class PreviewSchema(ma.Schema):
    """Which mapping, and which record."""

    source = ma.fields.String(metadata={"description": "the mapping's source (with object; or a mapping document)"})
    object = ma.fields.String(metadata={"description": "the mapping's object"})
    document = ma.fields.String(metadata={"description": "a mapping document, e.g. mappings/hubspot_contacts.yaml; or "
                                                         "lifecycle.yaml / conversions.yaml with source and object"})
    text = ma.fields.String(validate=ma.validate.Length(max=1_000_000),
                            metadata={"description": "unsaved text of `document` (omitted: its active text)"})
    record = ma.fields.Dict(metadata={"description": "a record as the source sends it"})
    contact_id = row_id(metadata={"description": "instead of record: this contact's last delivered record"})
    connection = ma.fields.String(validate=ma.validate.Length(max=64), metadata={
        "description": "the connection of the mapping's source the record would arrive on (default: `default`); "
                       "stages shown are those of the brand owning it (brands.yaml)"})
    brand = ma.fields.String(validate=ma.validate.Length(max=32), metadata={
        "description": "instead of connection: the brand whose stages to show (a file ingest's --brand)"})


class PreviewResultSchema(ma.Schema):
    """What the record would do now (``refused``: why it would be a dead letter instead)."""

    mapping = ma.fields.Dict(required=True, metadata={"description": "source, object and file of the mapping used"})
    sample = ma.fields.Dict(allow_none=True, metadata={"description": "where the record came from (contact_id)"})
    patch = ma.fields.Dict(allow_none=True, required=True)
    refused = ma.fields.String(allow_none=True, required=True)
    brand = ma.fields.String(metadata={"description": "the brand whose stages `contacts` shows"})
    outcome = ma.fields.Dict()
    contacts = ma.fields.List(ma.fields.Dict(), metadata={"description": "each contact touched: stage before/after, "
                                                                         "field winners that change and their rule, "
                                                                         "consent that changes, "
                                                                         "new stage history entries"})
    merged_away = ma.fields.List(ma.fields.Raw())
    conversions = ma.fields.List(ma.fields.Dict(), metadata={"description": "conversions and where they would go"})
    write_backs = ma.fields.List(ma.fields.Dict(), metadata={"description": "outbox rows that would be queued"})
    merges = ma.fields.List(ma.fields.Dict())
    conflicts = ma.fields.List(ma.fields.Dict())


class ValidateSchema(ma.Schema):
    """Unsaved texts of documents."""

    documents = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(validate=ma.validate.Length(
        max=1_000_000)), required=True, metadata={"description": "{document name: text}"})


ValidationResult = ma.Schema.from_dict({
    "valid": ma.fields.Boolean(required=True),
    "issues": ma.fields.List(ma.fields.Dict(), required=True,
                             metadata={"description": "file, line, path and message of each problem"}),
}, name="ValidationResult")


def _mapping_for(body: dict) -> tuple[Any, Any]:
    """(config, mapping) the preview runs with.

    ``document`` (+ ``text``): the configuration with that document as saved (or as ``text``
    would make it); the mapping is that document when it is one, else ``source`` and ``object``'s
    in that configuration (a lifecycle or conversions edit previewed through a mapping).
    """
    trial = config()
    if body.get("document"):
        name = body["document"]
        if "text" in body:
            try:
                trial = revisions().trial({name: body["text"]})
            except ConfigError as exc:
                raise refused(exc) from None
        else:
            revisions().read(name)  # 404 for a document that does not exist
        if name.startswith("mappings/"):
            stem = name.rsplit("/", 1)[-1].removesuffix(".yaml")
            found = [m for m in trial.mappings.values() if m.name == stem]
            if not found:
                raise Invalid(f"{name} is no mapping document", {"document": "mappings/<name>.yaml"})
            return trial, found[0]
    if body.get("source") and body.get("object"):
        mapping = trial.mappings.get((body["source"], body["object"]))
        if mapping is None:
            raise Invalid(f"no mapping for source {body['source']!r} object {body['object']!r}",
                          {"source": "a source and object some mapping reads"})
        return trial, mapping
    if body.get("document"):
        raise Invalid(f"{body['document']} is no mapping document: name the mapping to preview it through",
                      {"source": "a source and object some mapping reads"})
    raise Invalid("name the mapping", {"document": "a mapping document, or source and object"})


def previewed(body: dict) -> dict[str, Any]:
    """The preview of a ``PreviewSchema`` body: what the record would change now; nothing is written."""
    trial, mapping = _mapping_for(body)
    sample = None
    if "record" in body:
        record = body["record"]
    elif "contact_id" in body:
        found = last_record(store(), trial, body["contact_id"], mapping.source, mapping.object)
        record = found["record"]
        sample = {k: v for k, v in found.items() if k != "record"} | {"contact_id": body["contact_id"]}
    else:
        raise Invalid("give a record, or a contact whose last record to use", {"record": "a JSON object"})
    effects = Effects.of(settings(), trial)
    brand = _brand(trial, mapping, body)
    try:  # the record ids of a brand's connection are its own (sync.reconcile.identity.namespaced)
        namespace = (trial.brands.namespace(mapping.source, brand, body["connection"]) if body.get("connection")
                     else record_namespace(trial.brands, trial.lifecycle, mapping.source, brand,
                                           (spec.kind for spec in mapping.identities)))
    except ValueError as exc:
        raise Invalid(str(exc), {"connection": "the brand's connection the record would arrive on"}) from None
    result = preview_effect(store(), trial, mapping, record, effects, brand, namespace)
    return {"mapping": {"source": mapping.source, "object": mapping.object, "name": mapping.name},
            "sample": sample, **result}


def _brand(trial: Any, mapping: Any, body: dict) -> str:
    """The brand a preview shows: ``brand``, else the one owning ``connection`` of the mapping's source.

    Within the brands the token sees, by the rule of every brand-filtered read (``sync.access.brands``):
    403 for another brand's, 422 for an unknown one; neither given: the default brand, or a
    brand-limited token's first brand.
    """
    by_connection = trial.brands.brand_of(mapping.source, body.get("connection"))
    if body.get("brand") and body.get("connection") and body["brand"] != by_connection:
        raise Invalid(f"connection {mapping.source}:{body['connection']} belongs to brand {by_connection!r}, "
                      f"not {body['brand']!r}", {"brand": "the brand owning the connection, or only one of the two"})
    requested = body.get("brand") or (by_connection if body.get("connection") else None)
    return scoped_brand(trial, requested) or by_connection


def validated(documents: dict[str, str]) -> dict[str, Any]:
    """``{"valid", "issues"}`` of unsaved document texts: the very checks saving them runs (nothing is stored)."""
    try:
        revisions().trial(documents)
    except ConfigError as exc:
        return {"valid": False, "issues": refused(exc).errors["issues"]}
    return {"valid": True, "issues": []}


@blp.route("/mappings/preview")
class Preview(MethodView):
    """Preview of effect."""

    @requires("viewer")
    @blp.arguments(PreviewSchema)
    @blp.response(200, PreviewResultSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, body: dict) -> Any:
        """What one record would change now through a mapping (saved or not); nothing is written."""
        return previewed(body)


@blp.route("/config/validate")
class Validate(MethodView):
    """Validation of unsaved texts, as an editor types."""

    @requires("viewer")
    @blp.arguments(ValidateSchema)
    @blp.response(200, ValidationResult)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, body: dict) -> Any:
        """Every issue the configuration would have with these texts (nothing is stored)."""
        return validated(body["documents"])
