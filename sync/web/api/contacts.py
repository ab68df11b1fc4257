"""``GET /api/contacts`` (search, keyset pages), ``GET /api/contacts/<id>`` (one contact in full) and
``GET /api/contacts/<id>/access-request`` (everything held about the person: admin, audited).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import abort
from flask.views import MethodView

from sync.access.audit import record
from sync.access.roles import Principal
from sync.config.types import DEFAULT_BRAND, PHASES
from sync.privacy.access import subject_access
from sync.reports.contact_detail import contact_detail
from sync.reports.contact_search import MAX_TEXT, ContactFilter, search
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.brand_access import asking, scoped_brand
from sync.web.api.context import config, principal, store
from sync.web.api.schemas import PageArgs, decode_cursor, encode_cursor, page_schema

blp = Blueprint("contacts", __name__, description="Look contacts up and see why they are as they are")

F = ma.fields


class ContactSearchArgs(PageArgs):
    """Filters of the contact list; every one given must hold."""

    q = F.String(validate=ma.validate.Length(1, MAX_TEXT), metadata={
        "description": "case-insensitive prefix of the full name, the last name or any identity value"})
    identity = F.String(validate=ma.validate.Length(3, 300), metadata={
        "description": "`kind:value`, normalised as identity resolution stores it (e.g. emails lowercased)"})
    stage = F.String(validate=ma.validate.Length(1, 64), metadata={"description": "a configured active stage"})
    lost_stage = F.String(validate=ma.validate.Length(1, 64), metadata={"description": "a configured lost stage"})
    phase = F.String(validate=ma.validate.OneOf(PHASES), metadata={"description": "the phase of the stage"})
    source = F.String(validate=ma.validate.Length(1, 32), metadata={
        "description": "a system that supplied one of the contact's identities, e.g. hubspot"})
    updated_since = F.AwareDateTime(metadata={"description": "changed at or after"})
    has_conversions = F.Boolean()
    brand = F.String(validate=ma.validate.Length(1, 32), metadata={
        "description": "one brand's contacts (brands.yaml), with their stage in it; a token limited to brands "
                       "sees only its brands' contacts"})


class ContactSummarySchema(ma.Schema):
    """A contact in a list."""

    id = F.Integer(required=True)
    name = F.String(allow_none=True, required=True)
    stage = F.String(allow_none=True, required=True)
    phase = F.String(allow_none=True, required=True)
    lost_stage = F.String(allow_none=True, required=True)
    identities = F.List(F.String(), required=True, metadata={"description": "`kind:value`"})
    created_at = F.AwareDateTime(required=True)
    updated_at = F.AwareDateTime(required=True)


class ContactIdentitySchema(ma.Schema):
    kind = F.String(required=True)
    value = F.String(required=True)
    source = F.String(required=True)
    first_seen_at = F.String(allow_none=True, required=True)


class FieldCandidateSchema(ma.Schema):
    source = F.String(required=True)
    value = F.Raw(allow_none=True, required=True)
    source_time = F.String(allow_none=True, required=True, metadata={"description": "the source's own time"})
    arrived_at = F.String(allow_none=True, required=True)
    record_id = F.String(allow_none=True, required=True)
    wins = F.Boolean(required=True)


class SurvivorshipRuleSchema(ma.Schema):
    name = F.String(required=True, metadata={"description": "newest, priority, prefer, first, max or min"})
    sources = F.List(F.String(), required=True)


class ContactFieldSchema(ma.Schema):
    """One field: its stored winner, and how the candidates of every source decide it."""

    value = F.Raw(allow_none=True, required=True)
    source = F.String(allow_none=True, required=True)
    rule = F.Nested(SurvivorshipRuleSchema, required=True, metadata={"description": "the field's survivorship rule"})
    decided_by = F.String(required=True, metadata={"description": "`only source`, or the rule's name"})
    winner_source = F.String(allow_none=True, required=True, metadata={
        "description": "the winner under the active configuration"})
    candidates = F.List(F.Nested(FieldCandidateSchema), required=True)


class ContactConsentSchema(ma.Schema):
    """One purpose's consent: what ``contacts.consent`` holds, the winning candidate, and every source's."""

    value = F.Boolean(allow_none=True, required=True, metadata={
        "description": "true granted, false withdrawn, null unknown"})
    rule = F.String(required=True, metadata={"description": "how candidates are decided"})
    source = F.String(allow_none=True, required=True, metadata={"description": "the winner's source"})
    source_time = F.String(allow_none=True, required=True, metadata={"description": "when the winner said it"})
    record_id = F.String(allow_none=True, required=True, metadata={"description": "the record it said it in"})
    candidates = F.List(F.Nested(FieldCandidateSchema), required=True)


class StageTransitionSchema(ma.Schema):
    from_ = F.String(data_key="from", attribute="from", allow_none=True, required=True)
    to = F.String(required=True)
    at = F.String(allow_none=True, required=True)
    source = F.String(required=True)
    reason = F.String(required=True)


class ContactTouchpointSchema(ma.Schema):
    channel = F.String(required=True)
    network = F.String(allow_none=True, required=True)
    campaign_id = F.String(allow_none=True, required=True)
    ad_id = F.String(allow_none=True, required=True)
    ad_name = F.String(allow_none=True, required=True, metadata={"description": "what the ad network calls the ad"})
    campaign_name = F.String(allow_none=True, required=True, metadata={
        "description": "what the ad network calls the campaign (`campaign_id`'s, or the ad's when the touch has none)"})
    click_ids = F.Dict(keys=F.String(), values=F.String(), required=True)
    occurred_at = F.String(allow_none=True, required=True)
    source = F.String(required=True)


class ContactActivitySchema(ma.Schema):
    channel = F.String(required=True)
    direction = F.String(required=True)
    occurred_at = F.String(allow_none=True, required=True)
    external_id = F.String(allow_none=True, required=True)
    conversation_id = F.String(allow_none=True, required=True)
    source = F.String(required=True)


class ConversionDeliverySchema(ma.Schema):
    status = F.String(required=True, metadata={"description": "pending, sent, failed, dead, or skipped (not sent on "
                                                              "purpose: e.g. the privacy policy said drop)"})
    policy = F.String(allow_none=True, required=True, metadata={
        "description": "the privacy policy it was built under (privacy.yaml): send, restricted, strip or drop; "
                       "null when none was decided (expired, duplicate, retracted, or recorded before policies)"})
    attempts = F.Integer(required=True)
    last_error = F.String(allow_none=True, required=True)
    response = F.Dict(required=True, metadata={"description": "the network's answer"})
    sent_at = F.String(allow_none=True, required=True)
    updated_at = F.String(allow_none=True, required=True)


class ConversionSendSchema(ma.Schema):
    """One outbox row of a conversion (or of an adjustment of it) for one destination."""

    outbox_id = F.Integer(required=True)
    kind = F.String(required=True, metadata={"description": "conversion or adjustment"})
    destination = F.String(required=True)
    status = F.String(required=True)
    adjustment = F.String(allow_none=True, required=True)
    queued_at = F.String(allow_none=True, required=True)
    delivery = F.Nested(ConversionDeliverySchema, allow_none=True, required=True)


class ContactConversionSchema(ma.Schema):
    event_id = F.String(required=True)
    kind = F.String(required=True)
    value = F.Float(allow_none=True, required=True)
    currency = F.String(allow_none=True, required=True)
    order_id = F.String(allow_none=True, required=True)
    occurred_at = F.String(allow_none=True, required=True)
    source = F.String(required=True)
    adjusted_value = F.Float(allow_none=True, required=True)
    adjusted_currency = F.String(allow_none=True, required=True)
    retracted_at = F.String(allow_none=True, required=True)
    deliveries = F.List(F.Nested(ConversionSendSchema), required=True)


class ContactMergeSchema(ma.Schema):
    kept_contact_id = F.Integer(required=True)
    merged_contact_id = F.Integer(required=True)
    via = F.String(required=True, metadata={"description": "the identity kind that linked them"})
    source = F.String(required=True)
    record_id = F.String(required=True)
    at = F.String(allow_none=True, required=True)


class ContactConflictSchema(ma.Schema):
    contact_id = F.Integer(required=True)
    field = F.String(required=True)
    rule = F.String(required=True)
    winner_source = F.String(allow_none=True, required=True)
    candidates = F.Raw(required=True)
    source = F.String(required=True)
    record_id = F.String(required=True)
    at = F.String(allow_none=True, required=True)


class BrandStageSchema(ma.Schema):
    """The contact's stage in one brand."""

    brand = F.String(required=True, metadata={"description": "the brand's key (brands.yaml; `default`)"})
    name = F.String(required=True, metadata={"description": "the brand's display name"})
    stage = F.String(allow_none=True, required=True)
    phase = F.String(allow_none=True, required=True, metadata={"description": "in the brand's lifecycle"})
    lost_stage = F.String(allow_none=True, required=True)
    stage_changed_at = F.String(allow_none=True, required=True)


class ContactDetailSchema(ma.Schema):
    """One contact in full (the document `lifesync contacts get` prints)."""

    id = F.Integer(required=True)
    name = F.String(allow_none=True, required=True)
    stage = F.String(allow_none=True, required=True)
    phase = F.String(allow_none=True, required=True)
    lost_stage = F.String(allow_none=True, required=True)
    created_at = F.String(allow_none=True, required=True)
    updated_at = F.String(allow_none=True, required=True)
    stage_changed_at = F.String(allow_none=True, required=True)
    stages = F.List(F.Nested(BrandStageSchema), required=True, metadata={
        "description": "its stage in each brand it dealt with (those the token sees), the default brand first"})
    identities = F.List(F.String(), required=True, metadata={"description": "`kind:value`"})
    identity_details = F.List(F.Nested(ContactIdentitySchema), required=True)
    fields = F.Dict(keys=F.String(), values=F.Nested(ContactFieldSchema), required=True)
    consent = F.Dict(keys=F.String(), values=F.Nested(ContactConsentSchema), required=True, metadata={
        "description": "per purpose (ad_user_data, marketing_email, ...); a purpose no source spoke of is absent"})
    stage_history = F.List(F.Nested(StageTransitionSchema), required=True)
    touchpoints = F.List(F.Nested(ContactTouchpointSchema), required=True)
    activity_count = F.Integer(required=True)
    activities = F.List(F.Nested(ContactActivitySchema), required=True, metadata={"description": "the newest 50"})
    conversions = F.List(F.Nested(ContactConversionSchema), required=True)
    merges = F.List(F.Nested(ContactMergeSchema), required=True, metadata={
        "description": "contacts merged into this one, transitively, oldest first"})
    conflicts = F.List(F.Nested(ContactConflictSchema), required=True, metadata={
        "description": "value conflicts resolved by a rule, and merges the rules blocked"})
    brands = F.Dict(keys=F.String(), values=F.Raw(), metadata={
        "description": "its stage, lost stage and stage history in each brand other than the default one "
                       "(brands.yaml); absent for a contact of the default brand only"})


def contact_page(args: dict[str, Any]) -> dict[str, Any]:
    """One page of contacts for :class:`ContactSearchArgs` as loaded: ``{"items": [...], "next": cursor or None}``.

    The API's list and the console's contacts page both answer with it.
    """
    filters = dict(args)
    before_id = decode_cursor(filters.pop("cursor", None))
    limit = filters.pop("limit")
    active = config()
    brand = scoped_brand(active, filters.pop("brand", None))
    lifecycle = active.brands.lifecycle(brand, active.lifecycle) if brand else active.lifecycle
    with store().transaction() as session:
        found = search(session, lifecycle, ContactFilter(**filters, brand=brand), limit + 1, before_id)
    more = len(found) > limit
    return {"items": found[:limit], "next": encode_cursor(found[limit - 1]["id"]) if more else None}


@blp.route("/contacts")
class Contacts(MethodView):
    """Contact search."""

    @requires("viewer", brand_scoped=True)
    @blp.arguments(ContactSearchArgs, location="query")
    @blp.response(200, page_schema(ContactSummarySchema, "ContactPage"))
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def get(self, args: dict) -> Any:
        """Contacts matching every filter given, newest first."""
        return contact_page(args)


@blp.route("/contacts/<id:contact_id>")
class Contact(MethodView):
    """One contact."""

    @requires("viewer", brand_scoped=True)
    @blp.response(200, ContactDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, contact_id: int) -> Any:
        """One contact in full.

        Identities, every field's candidates and rule, stage history, touchpoints, activities,
        conversions with their deliveries, merges and conflicts.
        """
        return contact_document(contact_id)


class AccessRequestSchema(ContactDetailSchema):
    """Everything held about one person (:mod:`sync.privacy.access`), each item with its source and time."""

    activities = F.List(F.Dict(), required=True, metadata={"description": "every activity, oldest first"})
    quality_issues = F.List(F.Dict(), required=True)
    segments = F.List(F.Dict(), required=True, metadata={"description": "each stay in a segment"})
    audiences = F.List(F.Dict(), required=True, metadata={"description": "destinations holding the contact"})
    dead_letters = F.List(F.Dict(), required=True, metadata={
        "description": "letters of one of the contact's records (source and record id)"})
    inbox_events = F.List(F.Dict(), required=True, metadata={
        "description": "webhook events whose body holds one of the contact's identities (metadata only)"})


@blp.route("/contacts/<id:contact_id>/access-request")
class ContactAccessRequest(MethodView):
    """An access request."""

    @requires("admin")  # installation-wide: the answer holds every brand's dealings with the person
    @blp.response(200, AccessRequestSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, contact_id: int) -> Any:
        """Everything held about one person, with sources and times (audited: who asked, which contact)."""
        with store().transaction() as session:
            doc = subject_access(session, config(), contact_id)
            record(session, principal(), "contact.access_request", "contact", contact_id,
                   summary=f"access request: contact {contact_id}")
        return doc


def contact_document(contact_id: int) -> dict[str, Any]:
    """One contact in full (:func:`~sync.reports.contact_detail.contact_detail`): the API's and the console's."""
    with store().transaction() as session:
        active = config()
        doc = contact_detail(session, active.lifecycle, contact_id, active.brands)
    return visible_to(asking(), doc)


def visible_to(who: Principal, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as ``who`` may see it: 403 for a contact of none of its brands, other brands' stages left out."""
    if who.brands is None:
        return doc
    theirs = set(doc.get("brands", {}))
    if doc["stage"] is not None or doc["lost_stage"] is not None or not theirs:
        theirs.add(DEFAULT_BRAND)
    if not theirs & set(who.brands):
        abort(403, description=f"contact {doc['id']} is no contact of this token's brands ({', '.join(who.brands)})")
    if "brands" in doc:
        doc["brands"] = {b: v for b, v in doc["brands"].items() if who.sees(b)}
    doc["stages"] = [s for s in doc["stages"] if who.sees(s["brand"])]
    return doc
