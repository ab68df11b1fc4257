"""The canonical lifecycle model as SQLAlchemy 2 tables (DESIGN §2).

A contact's winning field values are *derived* from its FieldValue candidates (one per
source) by the field's survivorship rule; ``Contact.attributes`` caches the result so reads
need no recomputation. Stage, lost stage and StageTransition rows are likewise derived by
replaying StageSignal rows, so neither depends on the order records arrived in.

The three highest-volume child tables (field_values, stage_signals, stage_transitions: ~14
rows per ingested record) carry no foreign key to contacts. Their only writer is
``sync.ingest.persist``, which creates them with their contact and deletes them before a merged
contact, and a per-row FK check cost ~13% of PostgreSQL ingest throughput (bench/pipeline.py).
Identities, whose integrity identity resolution relies on, keep theirs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy import true as sql_true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from sync.store.reason_class import reason_class
from sync.utc import utc

# Contact search (sync.reports.contact_search) matches prefixes of the lowercased full name and
# last name, which the database keeps in two generated columns (``Contact.name_key`` and
# ``last_name_key``), and of identity values. Generated columns rather than expression indexes:
# PostgreSQL never answers from an expression index alone (an index-only scan needs the columns
# the expression reads), so a prefix matching thousands of contacts would read as many heap pages.
FULL_NAME_SQL = ("lower(coalesce(attributes -> 'first_name' ->> 'value', '') || ' ' || "
                 "coalesce(attributes -> 'last_name' ->> 'value', ''))")
LAST_NAME_SQL = "lower(coalesce(attributes -> 'last_name' ->> 'value', ''))"
# What migration 0009 generates them with, per database: SQLite before 3.38 has no ``->>``.
NAME_KEYS_SQL = {
    "postgresql": {"name_key": FULL_NAME_SQL, "last_name_key": LAST_NAME_SQL},
    "sqlite": {
        "name_key": "lower(coalesce(json_extract(attributes, '$.first_name.value'), '') || ' ' || "
                    "coalesce(json_extract(attributes, '$.last_name.value'), ''))",
        "last_name_key": "lower(coalesce(json_extract(attributes, '$.last_name.value'), ''))",
    },
}

# Created by migration 0009 on PostgreSQL only: ``text_pattern_ops`` (byte-wise, so a prefix is a
# range under any collation) and INCLUDE the contact id (the search reads only the index).
# SQLAlchemy cannot declare them for one dialect in a form alembic compares, so they live in the
# migration alone and alembic's comparison leaves them out. (table, column, included column)
POSTGRESQL_ONLY_INDEXES = {
    "ix_contacts_name_key": ("contacts", "name_key", "id"),
    "ix_contacts_last_name_key": ("contacts", "last_name_key", "id"),
    "ix_identities_value_prefix": ("identities", "value", "contact_id"),
}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter: everything but :data:`POSTGRESQL_ONLY_INDEXES` and the generated name keys.

    The name keys' expressions differ per database (:data:`NAME_KEYS_SQL`), and alembic cannot
    alter a generated column anyway; ``tests/store`` checks they exist on both.
    """
    if type_ == "index":
        return name not in POSTGRESQL_ONLY_INDEXES
    return not (type_ == "column" and name in NAME_KEYS_SQL["postgresql"] and obj.table.name == "contacts")


# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
BigId = BigInteger().with_variant(Integer(), "sqlite")
MAX_ID = 2**63 - 1  # the largest id either holds: a larger one from a URL or cursor names no row


def utcnow() -> datetime:
    """Timezone-aware now, in UTC."""
    return datetime.now(UTC)


class AwareDateTime(TypeDecorator):
    """DateTime that normalises to UTC on write and re-attaches UTC on read (SQLite drops it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        """Store UTC; naive values are taken to be UTC already."""
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        """Return aware UTC datetimes on every database."""
        if value is None:
            return None
        return utc(value)

    # SQLite keeps timestamps as text ("2026-11-27 10:00:00.000000"). SQLAlchemy's own
    # processors format and parse it in Python (a regular expression per value read); a
    # reconcile batch reads and writes hundreds of thousands of them. The C methods
    # ``isoformat`` and ``fromisoformat`` produce and read exactly that text.

    def bind_processor(self, dialect: Any) -> Any:
        """On SQLite, datetimes straight to SQLAlchemy's text form (UTC, naive taken as UTC)."""
        general = super().bind_processor(dialect)
        if dialect.name != "sqlite":
            return general

        def process(value: Any) -> Any:
            if not isinstance(value, datetime):
                return general(value) if general else value
            return utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """On SQLite, the stored text straight to an aware UTC datetime."""
        general = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite":
            return general

        def process(value: Any) -> Any:
            if type(value) is str:
                try:
                    return datetime.fromisoformat(value).replace(tzinfo=UTC)
                except ValueError:
                    pass
            return general(value) if general else value

        return process


class Base(DeclarativeBase):
    """Declarative base for every lifesync table."""


class Contact(Base):
    """One person, however many systems know them."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)  # search: updated since
    stage: Mapped[str | None] = mapped_column(String(64), index=True)
    lost_stage: Mapped[str | None] = mapped_column(String(64), index=True)
    stage_changed_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    consent: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    name_key: Mapped[str | None] = mapped_column(Text, Computed(FULL_NAME_SQL, persisted=True))  # search only
    last_name_key: Mapped[str | None] = mapped_column(Text, Computed(LAST_NAME_SQL, persisted=True))


class Identity(Base):
    """An identifier of a contact in one system; (kind, value) is unique across contacts."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("kind", "value", name="uq_identity_kind_value"),
        Index("ix_identities_source_contact", "source", "contact_id"),  # contact search by source
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32))
    first_seen_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class FieldValue(Base):
    """One source's value of one field of one contact, with the source's own timestamp."""

    __tablename__ = "field_values"
    contact_id: Mapped[int] = mapped_column(BigId, primary_key=True)  # no FK: see module docstring
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    source_time: Mapped[datetime | None] = mapped_column(AwareDateTime)
    arrived_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    record_id: Mapped[str | None] = mapped_column(String(255))


def _brand_column() -> Mapped[str]:
    """The brand a row belongs to (``sync.config.brands``); every row of a one-brand installation is ``default``."""
    return mapped_column(String(32), default="default", server_default="default")


class StageSignal(Base):
    """An observation that may move a contact's stage in one brand: a reported stage or an inbound message."""

    __tablename__ = "stage_signals"
    __table_args__ = (
        UniqueConstraint("contact_id", "source", "kind", "stage", "at", "brand", name="uq_stage_signal"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(BigId, index=True)  # no FK: see module docstring
    at: Mapped[datetime] = mapped_column(AwareDateTime)
    source: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(64), default="")  # "" for inbound_message
    reason: Mapped[str] = mapped_column(String(255), default="")
    brand: Mapped[str] = _brand_column()


class StageTransition(Base):
    """A stage change of a contact in one brand: from, to, when, which source, why (derived from signals).

    ``seq`` numbers one brand's history of the contact 0, 1, 2, ...
    """

    __tablename__ = "stage_transitions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(BigId, index=True)  # no FK: see module docstring
    seq: Mapped[int] = mapped_column(Integer)
    from_stage: Mapped[str | None] = mapped_column(String(64))
    to_stage: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime)
    source: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(255))
    brand: Mapped[str] = _brand_column()


class ContactStage(Base):
    """A contact's stage in a brand other than the default one (whose stage ``Contact.stage`` holds).

    Derived, like ``Contact.stage``, by replaying the brand's stage signals; empty in an
    installation with one brand (``sync.config.brands``).
    """

    __tablename__ = "contact_stages"
    __table_args__ = (Index("ix_contact_stages_brand_stage", "brand", "stage"),)
    contact_id: Mapped[int] = mapped_column(BigId, primary_key=True)  # no FK: written with stage_signals
    brand: Mapped[str] = mapped_column(String(32), primary_key=True)
    stage: Mapped[str | None] = mapped_column(String(64))
    lost_stage: Mapped[str | None] = mapped_column(String(64))
    stage_changed_at: Mapped[datetime | None] = mapped_column(AwareDateTime)


class FunnelCount(Base):
    r"""How many contacts entered ``stage`` and later entered each stage of ``after`` (over all time).

    ``after`` is the sorted stage names joined by ``\x1f`` ("" for none). Kept by
    ``sync.ingest.funnel_counts`` where transitions are written; read by the all-time funnel.
    """

    __tablename__ = "funnel_counts"
    __table_args__ = (UniqueConstraint("stage", "after", name="uq_funnel_counts"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    stage: Mapped[str] = mapped_column(String(64))
    after: Mapped[str] = mapped_column(Text)
    n: Mapped[int] = mapped_column(BigInteger)


class Touchpoint(Base):
    """An ad click or referral: network, campaign/ad-set/ad ids, click ids, referral data.

    ``brand``: the brand whose connection it came through; only that brand's conversions are credited
    to it or carry its click ids (another brand's ad did not bring them).
    """

    __tablename__ = "touchpoints"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    network: Mapped[str | None] = mapped_column(String(32))
    campaign_id: Mapped[str | None] = mapped_column(String(64), index=True)
    adset_id: Mapped[str | None] = mapped_column(String(64))
    ad_id: Mapped[str | None] = mapped_column(String(64), index=True)
    click_ids: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    referral_url: Mapped[str | None] = mapped_column(Text)
    headline: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    source: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(255))
    brand: Mapped[str] = _brand_column()


class Activity(Base):
    """Metadata of a message or CRM activity (no bodies): channel, direction, time."""

    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(AwareDateTime, index=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    conversation_id: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str] = _brand_column()  # the brand owning the connection the message or activity came through


class ConversationStat(Base):
    """First-response time of one conversation of one brand: first inbound message → first reply after it."""

    __tablename__ = "conversation_stats"
    __table_args__ = (UniqueConstraint("contact_id", "channel", "conversation_id", "brand",
                                       name="uq_conversation_stat"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str] = mapped_column(String(255), default="")  # "" when the channel has none
    first_inbound_at: Mapped[datetime] = mapped_column(AwareDateTime)
    first_outbound_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    brand: Mapped[str] = _brand_column()  # the brand of the conversation's messages (their connection's)


class ConversionEvent(Base):
    """A conversion (lead, booking, purchase, ...) of one brand with a deterministic ``event_id``.

    ``value``/``currency`` are what the conversion said; ``adjusted_*`` and ``retracted_at`` are
    what its adjustments made of it (``sync.attribution.adjustments``): the current value is
    ``adjusted_value`` when restated, and a retracted conversion no longer counts.
    """

    __tablename__ = "conversion_events"
    __table_args__ = (Index("ix_conversion_events_order", "order_id", "kind"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    value: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    order_id: Mapped[str | None] = mapped_column(String(255))
    occurred_at: Mapped[datetime] = mapped_column(AwareDateTime)
    source: Mapped[str] = mapped_column(String(32))
    object: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    adjusted_value: Mapped[float | None] = mapped_column(Float)  # restated: the value now
    adjusted_currency: Mapped[str | None] = mapped_column(String(3))
    adjusted_at: Mapped[datetime | None] = mapped_column(AwareDateTime)  # the adjustment that decided its state
    retracted_at: Mapped[datetime | None] = mapped_column(AwareDateTime)  # retracted: it no longer counts
    brand: Mapped[str] = mapped_column(String(32), default="default", server_default="default", index=True)


class ConversionAdjustment(Base):
    """A retraction or restatement a record made of the conversion(s) with its ``kind`` and ``order_id``.

    The history of a conversion's adjustments: when (``occurred_at``, the source's time), from
    which record, what. ``key`` makes the same refund told twice one row. ``status`` is
    ``applied`` once a conversion it adjusts is stored, ``unmatched`` until then.
    """

    __tablename__ = "conversion_adjustments"
    __table_args__ = (Index("ix_conversion_adjustments_order", "order_id", "kind"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(16))  # retract | restate
    value: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(AwareDateTime)
    source: Mapped[str] = mapped_column(String(32))
    object: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="unmatched")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    brand: Mapped[str] = _brand_column()  # it adjusts only the same brand's conversion of its kind and order id


class Outbox(Base):
    """An effect to send later (push to a CRM, conversion to an ad network), same txn as its cause."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(64), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    conversion_id: Mapped[int | None] = mapped_column(ForeignKey("conversion_events.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    available_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class Delivery(Base):
    """The fate of one outbox item at one destination: pending/sent/failed/dead."""

    __tablename__ = "deliveries"
    # (status, updated_at): /metrics and the alerts count failed/dead ones and those sent lately without a scan;
    # (destination, updated_at): a destination's last success and failure, its 24 h counts (sync.connectors.health)
    __table_args__ = (UniqueConstraint("outbox_id", "destination", name="uq_delivery"),
                      Index("ix_deliveries_status_updated", "status", "updated_at"),
                      Index("ix_deliveries_destination", "destination", "updated_at", "status"))  # 24 h: index-only
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sent_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    # the privacy policy it went out under (sync.privacy): send / restricted / strip / drop; None before 0024
    policy: Mapped[str | None] = mapped_column(String(16))


class RawEvent(Base):
    """The inbox: a webhook body exactly as received, persisted before it is acknowledged."""

    __tablename__ = "raw_events"
    # (status, received_at): the oldest ``received`` event (inbox lag) is one index probe;
    # processed_at: events drained lately (throughput) without a scan;
    # (source, connection, received_at): the last webhook of a receiver's connection (sync.connectors.health)
    __table_args__ = (UniqueConstraint("source", "event_key", name="uq_raw_event"),
                      Index("ix_raw_events_status_received", "status", "received_at"),
                      Index("ix_raw_events_receiver", "source", "connection", "received_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    object: Mapped[str] = mapped_column(String(64))  # the mapping's object, e.g. "message"
    connection: Mapped[str] = mapped_column(String(64), default="default")
    event_key: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="received")  # ix_raw_events_status_received
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(AwareDateTime, index=True)


class MergeLog(Base):
    """Audit of a contact merge: which contact absorbed which, and through which identity.

    ``snapshot`` (migration 0017, ``sync.reconcile.snapshot``) is what each contact held when
    they merged — identities, candidates, stage signals, echoes, and the absorbed contact's row
    ids — so the merge can be undone (``sync.quality.unmerging``); older merges have none.
    ``actor`` names who merged on purpose (None: identity resolution did).
    """

    __tablename__ = "merge_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kept_contact_id: Mapped[int] = mapped_column(BigId, index=True)
    merged_contact_id: Mapped[int] = mapped_column(BigId)
    via: Mapped[str] = mapped_column(String(64))  # identity kind that linked them
    source: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(120))
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    unmerged_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    unmerged_by: Mapped[str | None] = mapped_column(String(120))


class DuplicatePair(Base):
    """Two contacts suspected to be one person (``sync.quality.duplicates``), open or dismissed.

    ``contact_a`` < ``contact_b``. ``evidence`` lists what they share by kind (``email``,
    ``phone``, ``name_city``, ``blocked``: a merge the identity rules refused, with its reason),
    never the values. A dismissed pair ("not the same person") stays, so a later scan never
    brings it back; undoing the dismissal opens it again.
    """

    __tablename__ = "duplicate_pairs"
    __table_args__ = (UniqueConstraint("contact_a", "contact_b", name="uq_duplicate_pair"),
                      Index("ix_duplicate_pairs_status", "status", "id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_a: Mapped[int] = mapped_column(BigId)
    contact_b: Mapped[int] = mapped_column(BigId, index=True)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | dismissed
    found_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    dismissed_by: Mapped[str | None] = mapped_column(String(120))


class ConflictLog(Base):
    """Audit of a value conflict resolved by a rule, or of a merge the rules blocked."""

    __tablename__ = "conflict_log"
    __table_args__ = (Index("ix_conflict_log_rule", "rule", "contact_id"),)  # blocked merges (duplicate review)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(BigId, index=True)
    field: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    winner_source: Mapped[str | None] = mapped_column(String(32))
    candidates: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


def _reason_class_of_row(context: Any) -> str:
    return reason_class(context.get_current_parameters().get("reason"))


class DeadLetter(Base):
    """A record that could not be processed, with the reason; replayable, or dismissed with a note.

    ``reason_class`` groups letters of one cause (``sync.store.reason_class``): every insert
    derives it from the reason, and a refreshed reason sets both (``reason_values``).
    ``brand``: the brand of a letter's record (the brand owning the connection it came through,
    or a file ingest's ``--brand``; null: the default brand), stamped again by a replay.
    """

    __tablename__ = "dead_letters"
    # (status, stage, created_at): open letters by stage (/metrics) read from the index alone, and those
    # created lately (the "dead letters growing" alert) without touching the table;
    # (status, stage, source, reason_class, created_at): the groups of sync.ingest.deadletter_groups
    __table_args__ = (Index("ix_dead_letters_status_stage_created", "status", "stage", "created_at"),
                      Index("ix_dead_letters_group", "status", "stage", "source", "reason_class", "created_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    stage: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    object: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open")  # ix_dead_letters_status_stage_created
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    reason_class: Mapped[str] = mapped_column(String(255), default=_reason_class_of_row)
    dismissed_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    dismissed_by: Mapped[str | None] = mapped_column(String(120))
    brand: Mapped[str | None] = mapped_column(String(32))  # a record's brand (null: default); replay stamps it
    note: Mapped[str | None] = mapped_column(Text)


class _Counted:
    """What a row of kept dead-letter counts holds: a group of one status, a +1 / -1 (or a folded sum).

    Triggers (migrations 0008, 0013) append rows with ``pending`` true (the column's default);
    ``sync.ingest.deadletter_counts`` folds a pending key's rows into one row with ``pending``
    false, found through the partial index of the pending rows.
    """

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    reason_class: Mapped[str] = mapped_column(String(255))
    n: Mapped[int] = mapped_column(BigInteger)
    pending: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sql_true())


def _pending_index(table: str) -> Index:
    """The pending rows of a counts table (the few a fold reads), a partial index of their ids."""
    return Index(f"ix_{table}_pending", "id", postgresql_where=sql_text("pending"),
                 sqlite_where=sql_text("pending"))


class DeadLetterCount(_Counted, Base):
    """How many dead letters each (status, stage, source, reason class) holds, kept by database triggers.

    Every insert, delete, or change of those columns in ``dead_letters`` appends a +1 / -1 row
    here (migration 0008: no row is ever updated, so concurrent writers never wait on each other);
    ``sync.ingest.deadletter_counts`` sums them, and folds them into one row a key now and then.
    Reads go through the index, so the pages a fold empties are never scanned.
    """

    __tablename__ = "dead_letter_counts"
    __table_args__ = (Index("ix_dead_letter_counts_key", "status", "stage", "source", "reason_class", "n"),
                      _pending_index("dead_letter_counts"))


class DeadLetterDayCount(_Counted, Base):
    """The same counts per UTC day of the letters' ``created_at`` (migration 0013), kept by the same triggers.

    Letters created since a moment are the whole days after it summed here, plus the letters of
    its own day counted from ``ix_dead_letters_group`` (``sync.ingest.deadletter_counts.counted_since``).
    """

    __tablename__ = "dead_letter_day_counts"
    __table_args__ = (Index("ix_dead_letter_day_counts_key", "status", "day", "stage", "source", "reason_class", "n"),
                      _pending_index("dead_letter_day_counts"))
    day: Mapped[date] = mapped_column(Date)


class DeliveryCount(Base):
    """The delivery report's all-time counts, kept by database triggers on ``outbox`` and ``deliveries``.

    ``part`` is ``conversion`` / ``adjustment`` (``value``: a status; each delivery of such an
    item, or the item itself while no destination answered it), ``click`` (``value``: the click
    id a sent conversion carried), ``held`` (sent conversions refused as already held) or ``key``
    (``value``: a hashed key a sent conversion carried). Triggers (migration 0015) append +1 / -1
    rows, as for :class:`DeadLetterCount`; ``sync.reports.delivery_counts`` sums and folds them.
    """

    __tablename__ = "delivery_counts"
    __table_args__ = (Index("ix_delivery_counts_key", "part", "destination", "value", "n"),
                      _pending_index("delivery_counts"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    part: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    n: Mapped[int] = mapped_column(BigInteger)
    pending: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sql_true())


class EchoRecord(Base):
    """A value lifesync pushed to a system, so its echo coming back is not a change."""

    __tablename__ = "echo_records"
    __table_args__ = (UniqueConstraint("system", "contact_id", "field", name="uq_echo"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    origin_source: Mapped[str] = mapped_column(String(32))
    origin_time: Mapped[datetime | None] = mapped_column(AwareDateTime)
    pushed_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class SyncCursor(Base):
    """Incremental-sync state per (connection, object)."""

    __tablename__ = "sync_cursors"
    connection: Mapped[str] = mapped_column(String(64), primary_key=True)
    object: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class AdName(Base):
    """What an ad network calls one ad: its name, ad set and campaign (``sync.attribution.adnames``).

    ``error`` is None when the network named the ad; otherwise it holds the network's refusal
    (e.g. Meta's "Object with ID ... does not exist") and the ad counts as unresolved.
    ``resolved_at`` is the last lookup, answered or refused: both are repeated after the refresh age.
    """

    __tablename__ = "ad_names"
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    ad_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ad_name: Mapped[str | None] = mapped_column(Text)
    adset_id: Mapped[str | None] = mapped_column(String(64))
    adset_name: Mapped[str | None] = mapped_column(Text)
    campaign_id: Mapped[str | None] = mapped_column(String(64))
    campaign_name: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    error: Mapped[str | None] = mapped_column(Text)


class Credential(Base):
    """OAuth tokens a connection obtained or had rotated, Fernet-encrypted (``sync.store.credentials``)."""

    __tablename__ = "credentials"
    system: Mapped[str] = mapped_column(String(32), primary_key=True)
    connection: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class ConfigRevision(Base):
    """One stored edit of a configuration document (``sync.config.revisions``): its whole text, who, when, why.

    ``seq`` numbers a document's revisions 1, 2, ... (unique per document); ``parent_id`` is
    the revision it replaced (None: the baseline file). Writers take turns and store only on
    the state they validated, so a lost race is re-validated, never a lost edit.
    """

    __tablename__ = "config_revisions"
    __table_args__ = (UniqueConstraint("document", "seq", name="uq_config_revisions_document_seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document: Mapped[str] = mapped_column(String(255))
    seq: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(BigId)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(255))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class ApiToken(Base):
    """An ops API token (``sync.access.tokens``): only its SHA-256 digest is kept, found by its public prefix."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    brands: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # None: every brand (sync.access.brands)


class AuditEntry(Base):
    """One change made through an ops surface (API, console or CLI): who, what, before → after, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    role: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(255))
    summary: Mapped[str] = mapped_column(Text)
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)


class ScheduledRun(Base):
    """How the runs of one schedule.yaml entry have been going (``jobs.failures`` and the worker keep it).

    ``failures_in_row`` counts final failures since its last success; ``last_outcome`` is
    ``ok``, ``failed`` or ``quota`` (a CRM run that stopped at its API budget), ``last_reason``
    a dead letter's kind of reason (the error type and lifesync's own message, no personal data).
    """

    __tablename__ = "scheduled_runs"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    task: Mapped[str] = mapped_column(String(64))
    failures_in_row: Mapped[int] = mapped_column(Integer, default=0)
    last_outcome: Mapped[str] = mapped_column(String(16))
    last_reason: Mapped[str | None] = mapped_column(Text)
    last_run_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    last_ok_at: Mapped[datetime | None] = mapped_column(AwareDateTime)


class AlertIncident(Base):
    """One incident of one alert rule about one subject: opened when the rule fires, resolved when it stops.

    ``subject`` is what the rule fired about ("" for the whole installation, else a schedule or
    destination name); at most one incident per (rule, subject) is open (``resolved_at`` null).
    ``open_notified`` / ``resolve_notified`` record that the notification webhook took the
    message, so a failed post is retried on the next evaluation and a delivered one never repeated.
    """

    __tablename__ = "alert_incidents"
    __table_args__ = (Index("ix_alert_incidents_open", "rule", "subject", "resolved_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(128), default="")
    summary: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    open_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    resolve_notified: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncRun(Base):
    """One CRM sync run (``sync.crm.runs``): when, how it ended, what it moved, the vendor's message if it failed."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_connection", "system", "connection", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(32))
    connection: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, ok, quota, failed
    records_in: Mapped[int] = mapped_column(Integer, default=0)
    records_out: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    rate_limit_waits: Mapped[int] = mapped_column(Integer, default=0)
    rate_limit_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)  # the failure as classified, ending with the vendor's message
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the run's report (counts per object)


class QualityIssue(Base):
    """A value a mapping or the lifecycle refused, kept with its record (``sync.quality.issues``): not a dead letter.

    One row per (source, object, record, field, reason), its ``key``: the same record read again
    refreshes ``last_seen_at``; a later version of the record without the problem resolves it.
    ``value`` is shown only when it is not personal data (the mapping engine's rule).
    ``brand``: the brand owning the connection the record came through (the data-quality report
    narrows by it).
    """

    __tablename__ = "quality_issues"
    # (record_id): a batch finds its records' open issues; (created_at): the report's window and trend;
    # (source, kind, created_at): invalid contact points by source
    __table_args__ = (Index("ix_quality_issues_source_kind", "source", "kind", "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(32))
    object: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[str] = mapped_column(String(120))
    record_id: Mapped[str] = mapped_column(String(255), index=True)
    contact_id: Mapped[int | None] = mapped_column(BigId, index=True)
    field: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    brand: Mapped[str] = _brand_column()


class SegmentMember(Base):
    """One stay of a contact in a segment (``sync.segments.membership``): entered, and left (null: a member now).

    History is kept: a contact that leaves and enters again has two rows. At most one row per
    (segment, contact) is current, which a partial unique index holds and which answers "current
    members of S"; (segment, entered_at) and (segment, left_at, contact_id) answer "size at time t", the latter
    also the current members among some contacts (SQLite's planner prefers it to the partial index).
    """

    __tablename__ = "segment_members"
    __table_args__ = (
        Index("uq_segment_members_current", "segment", "contact_id", unique=True,
              postgresql_where=sql_text("left_at IS NULL"), sqlite_where=sql_text("left_at IS NULL")),
        Index("ix_segment_members_entered", "segment", "entered_at"),
        Index("ix_segment_members_left", "segment", "left_at", "contact_id"),
        Index("ix_segment_members_contact", "contact_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    segment: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int] = mapped_column(BigId)  # no FK: a merged-away contact's stays are kept, as left
    entered_at: Mapped[datetime] = mapped_column(AwareDateTime)
    left_at: Mapped[datetime | None] = mapped_column(AwareDateTime)


class SegmentDirty(Base):
    """A contact the pipeline changed since segments last looked at it: the incremental evaluation's queue."""

    __tablename__ = "segment_dirty"
    contact_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class SegmentEvaluation(Base):
    """The last evaluation of one segment: when, full or incremental, its size after it (list and API)."""

    __tablename__ = "segment_evaluations"
    segment: Mapped[str] = mapped_column(String(64), primary_key=True)
    evaluated_at: Mapped[datetime] = mapped_column(AwareDateTime)
    full_at: Mapped[datetime | None] = mapped_column(AwareDateTime)  # the last full re-evaluation
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")  # of the conditions evaluated


class Audience(Base):
    """A segment's audience at one destination (``sync.segments.audiences``): its remote id, the last sync.

    ``remote_id`` is what the destination's ``ensure`` returned (a list, tag, campaign or
    audience id); ``counts`` what the last sync did (added, removed, unchanged, skipped, failed, …).
    """

    __tablename__ = "audiences"
    destination: Mapped[str] = mapped_column(String(64), primary_key=True)
    segment: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand: Mapped[str] = _brand_column()
    kind: Mapped[str] = mapped_column(String(32))
    remote_id: Mapped[str | None] = mapped_column(String(255))
    synced_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)  # why the last sync stopped (None: it ran to the end)


class AudienceMemberState(Base):
    """One contact of a segment at one destination: what was sent (``keys``) and where it stands.

    ``state``: ``added`` (the destination holds ``keys``), ``pending_add`` / ``pending_remove``
    (waiting for a retry at ``next_attempt_at``; a pending removal's ``keys`` are still held),
    ``skipped`` (a member not sent: no consent, or no identifier the destination can use —
    ``reason`` says which), ``failed`` (refused at ``operation``; dead-lettered with ``reason``, parked until
    replayed — a failed addition of a contact who left the segment is dropped: nothing is held).
    ``keys`` are exactly what the destination was given (hashes, for a network that hashes):
    never raw e-mails or phones. No foreign key to contacts: an erased contact's row is what
    tells the next sync which keys to remove.
    """

    __tablename__ = "audience_members"
    __table_args__ = (Index("ix_audience_members_state", "destination", "segment", "state"),)
    destination: Mapped[str] = mapped_column(String(64), primary_key=True)
    segment: Mapped[str] = mapped_column(String(64), primary_key=True)
    contact_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    keys: Mapped[Any] = mapped_column(JSON, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    operation: Mapped[str | None] = mapped_column(String(8))  # what a failed row failed at: add or remove


class Suppression(Base):
    """A salted hash of one identifier of a forgotten person (``sync.privacy``): never recreated, never sent.

    ``digest`` is HMAC-SHA256 of ``kind:value`` under the installation's salt (``PrivacyKey``),
    so the table holds no personal data and cannot be reversed by hashing guesses elsewhere.
    """

    __tablename__ = "suppressions"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    erasure_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class PrivacyKey(Base):
    """An installation secret of ``sync.privacy`` (the suppression salt), generated on first use."""

    __tablename__ = "privacy_keys"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class Erasure(Base):
    """One ``contacts forget``: who asked, when, what was deleted (counts), upstream requests' state; no PII."""

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    upstream: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # system -> {status, detail}
